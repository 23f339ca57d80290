"""REST tests: real gateway processes (one per config), the recording service, httpx."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.harness import GatewayProcess, Service, run_gateway

from .resources import COLLECTIONS, ERRORS, MODELS, get_response

Gateways = Callable[..., GatewayProcess]

#: Shared configs (each distinct config is one more gateway process).
MAPPED = {"putMethod": "mapped", "patchMethod": "mapped", "deleteMethod": "mapped", "requestTimeout": 1000}
AUTH = {"headerAuth": "vault.method", "requestTimeout": 1000}
FLAT = {"apiEncoding": "jsonFlat"}


@pytest.fixture(scope="session")
def gateways(nats_url: str) -> Iterator[Gateways]:
    """``gateways(**config)``: a gateway with that config, started once per test session and config."""
    started: dict[str, GatewayProcess] = {}

    def get(**config: Any) -> GatewayProcess:
        key = json.dumps(config, sort_keys=True)
        if key not in started:
            started[key] = run_gateway(nats_url, **config)
        return started[key]

    yield get
    for gw in started.values():
        gw.stop()


@pytest.fixture
async def http(gateways: Gateways) -> AsyncIterator[Callable[..., httpx.AsyncClient]]:
    """``http(**config)``: an httpx client for a gateway with that config (closed after the test)."""
    clients: list[httpx.AsyncClient] = []

    def open_client(**config: Any) -> httpx.AsyncClient:
        client = httpx.AsyncClient(base_url=gateways(**config).url, timeout=10)
        clients.append(client)
        return client

    yield open_client
    for client in clients:
        await client.aclose()


def serve_resources(service: Service, access: dict[str, Any] | None = None) -> None:
    """Answer access (``get: true`` unless given) and get requests for every resource in ``resources``."""
    for rid in [*MODELS, *COLLECTIONS, *ERRORS]:
        service.auto(f"access.{rid}", {"result": access or {"get": True}})
        service.auto(f"get.{rid}", get_response(rid))


def assert_error(response: httpx.Response, status: int, code: str, message: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    body = response.json()
    assert body["code"] == code, body
    if message is not None:
        assert body["message"] == message
