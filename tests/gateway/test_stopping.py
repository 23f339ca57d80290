"""A stopping gateway: API requests answer 503 ``system.serviceUnavailable``, new WebSockets are refused."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from channels.testing import WebsocketCommunicator

from res_gateway.gateway import Gateway, get_gateway
from resproject.asgi import application
from tests.harness import Service

UNAVAILABLE = {"code": "system.serviceUnavailable", "message": "Service unavailable"}


@pytest.fixture
async def api() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def stopping(gw: Gateway) -> asyncio.Task[None]:
    """Begin stopping ``gw``; the task is under way when this returns."""
    task = asyncio.ensure_future(gw.stop())
    await asyncio.sleep(0)
    assert gw.stopping
    return task


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/api/test/model"), ("POST", "/api/test/model/set"), ("HEAD", "/api/test/x")]
)
async def test_api_answers_503_once_stopping(
    process_gateway: Gateway, api: httpx.AsyncClient, service: Service, method: str, path: str
) -> None:
    stop = await stopping(process_gateway)
    response = await api.request(method, path)
    await stop
    assert response.status_code == 503
    if method != "HEAD":
        assert response.json() == UNAVAILABLE
    await service.assert_no_request()


async def test_api_keeps_answering_503_once_stopped(
    process_gateway: Gateway, api: httpx.AsyncClient, service: Service
) -> None:
    await process_gateway.stop()
    assert get_gateway() is process_gateway
    response = await api.get("/api/test/model")
    assert (response.status_code, response.json()) == (503, UNAVAILABLE)
    await service.assert_no_request()


async def test_new_websocket_is_refused_with_503_once_stopping(process_gateway: Gateway) -> None:
    stop = await stopping(process_gateway)
    communicator = WebsocketCommunicator(application, "/")
    communicator.scope["extensions"] = {"websocket.http.response": {}}
    await communicator.send_input({"type": "websocket.connect"})
    start = await communicator.receive_output()
    body = await communicator.receive_output()
    await stop
    assert (start["type"], start["status"]) == ("websocket.http.response.start", 503)
    assert json.loads(body["body"]) == UNAVAILABLE
    assert process_gateway.connections == {}


async def test_open_websocket_is_closed_by_stop(process_gateway: Gateway) -> None:
    communicator = WebsocketCommunicator(application, "/")
    connected, _ = await communicator.connect()
    assert connected and len(process_gateway.connections) == 1
    await process_gateway.stop()
    assert process_gateway.connections == {}
    await communicator.disconnect()
