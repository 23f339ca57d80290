"""Event order and fan-out: held events, references loading in order, slow clients."""

from __future__ import annotations

import asyncio
import socket

import pytest

from tests.gateway.common import client_frame, respond_get, serve, subscribe, upgrade_request, value

MODEL = value("test.model")


async def test_events_queue_behind_event_loading_reference(mem_client, mem_service):
    await subscribe(mem_client, mem_service, "test.collection")
    await mem_service.publish_add("test.collection", {"rid": "test.model"}, 1)
    req1 = await mem_service.get_request("get.test.model")
    await mem_service.publish_add("test.collection", {"rid": "test.model2"}, 2)
    await mem_service.publish_add("test.collection", "newValue", 3)
    await respond_get(req1)
    assert await mem_client.get_event() == {
        "event": "test.collection.add",
        "data": {"idx": 1, "value": {"rid": "test.model"}, "models": {"test.model": MODEL}},
    }
    req2 = await mem_service.get_request("get.test.model2")
    await mem_client.assert_no_message()
    await req2.respond_model(MODEL)
    assert await mem_client.get_event() == {
        "event": "test.collection.add",
        "data": {"idx": 2, "value": {"rid": "test.model2"}, "models": {"test.model2": MODEL}},
    }
    assert await mem_client.get_event() == {
        "event": "test.collection.add",
        "data": {"idx": 3, "value": "newValue"},
    }


async def test_event_with_already_sent_reference_is_not_held(mem_client, mem_service):
    await subscribe(mem_client, mem_service, "test.collection.parent", "test.collection")
    await mem_service.publish_add("test.collection.parent", {"rid": "test.collection"}, 2)
    assert await mem_client.get_event() == {
        "event": "test.collection.parent.add",
        "data": {"idx": 2, "value": {"rid": "test.collection"}},
    }


async def test_same_event_is_sent_to_clients_of_different_versions(mem_connect, mem_service):
    serve(mem_service, "test.model")
    modern, legacy = await mem_connect(), await mem_connect(version=None)
    for c in (modern, legacy):
        await c.send("subscribe.test.model").result()
    await mem_service.publish_change("test.model", {"soft": {"rid": "test.x", "soft": True}})
    assert (await modern.get_event())["data"] == {"values": {"soft": {"rid": "test.x", "soft": True}}}
    assert (await legacy.get_event())["data"] == {"values": {"soft": "test.x"}}


def stalled_client(port: int, request: str) -> socket.socket:
    """A raw WebSocket client that sends one request and then never reads (tiny receive buffer)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.sendall(upgrade_request())
    response = b""
    while b"\r\n\r\n" not in response:
        response += sock.recv(1)
    assert response.startswith(b"HTTP/1.1 101")
    sock.sendall(client_frame(request.encode()))
    assert b"models" in sock.recv(4096)  # the response: subscribed
    return sock


@pytest.fixture(params=["uvicorn-asgi", "rungateway"])
def slow_client_gateway(request, start_gateway):
    """A gateway with a tiny send queue: plain uvicorn, or ``rungateway`` with its fan-out protocol."""
    return start_gateway(asgi_only=request.param == "uvicorn-asgi", sendQueueSize=8)


async def test_slow_client_is_disconnected_others_unaffected(slow_client_gateway, service, connect):
    gw = slow_client_gateway
    serve(service, "test.model")
    fast = await connect(gw.ws_url)
    await fast.send("subscribe.test.model").result()
    stalled = await asyncio.to_thread(stalled_client, gw.port, '{"id":1,"method":"subscribe.test.model"}')
    try:
        count = 200
        for n in range(count):
            await service.publish_change("test.model", {"blob": f"{n}" + "x" * 60000, "n": n})
        for n in range(count):
            assert (await fast.get_event(wait=10))["data"]["values"]["n"] == n
        assert "send queue full" in gw.output()
    finally:
        stalled.close()


async def test_events_wait_for_both_a_loading_reference_and_a_reaccess(mem_client, mem_service):
    await subscribe(mem_client, mem_service, "test.collection")
    await mem_service.publish_add("test.collection", {"rid": "test.model"}, 0)
    get = await mem_service.get_request("get.test.model")
    await mem_service.publish_event("test.collection", "reaccess")
    access = await mem_service.get_request("access.test.collection")
    await mem_service.publish_event("test.collection", "custom", {"a": 1})
    await access.respond_access(get=True)
    await mem_client.assert_no_message()
    await respond_get(get)
    assert (await mem_client.get_event())["event"] == "test.collection.add"
    assert await mem_client.get_event() == {"event": "test.collection.custom", "data": {"a": 1}}
