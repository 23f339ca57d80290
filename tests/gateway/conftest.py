"""Gateway tests share the harness fixtures; their clients speak the latest protocol unless legacy."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from res_gateway import gateway as gateway_module
from res_gateway.gateway import Gateway
from res_gateway.mq.nats import NatsClient
from tests.harness import Client, GatewayProcess, run_gateway


@pytest.fixture(scope="session")
def gateway(nats_url: str) -> Iterator[GatewayProcess]:
    """One gateway for all gateway tests (a short request timeout keeps timeout cases quick)."""
    gw = run_gateway(nats_url, requestTimeout=1500)
    yield gw
    gw.stop()


async def open_client(url: str, version: str | None = "1.2.3", **kwargs: Any) -> Client:
    c = await Client.connect(url, **kwargs)
    if version is not None:
        assert (await c.request("version", {"protocol": version}))["result"] == {"protocol": "1.2.3"}
    return c


@pytest.fixture
async def connect(gateway: GatewayProcess) -> AsyncIterator[Callable[..., Any]]:
    """``await connect(url=None, version="1.2.3")``: a client that sent its version (None: legacy)."""
    clients: list[Client] = []

    async def connect_client(url: str | None = None, version: str | None = "1.2.3", **kwargs: Any) -> Client:
        c = await open_client(url or gateway.ws_url, version, **kwargs)
        clients.append(c)
        return c

    yield connect_client
    for c in clients:
        await c.close()


@pytest.fixture
async def client(connect: Callable[..., Any]) -> Client:
    return await connect()


@pytest.fixture
async def legacy_client(connect: Callable[..., Any]) -> Client:
    """A client that never sent a version request (protocol 1.1.1)."""
    return await connect(version=None)


@pytest.fixture
async def process_gateway(nats_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Gateway]:
    """A connected gateway installed as this process's gateway (for in-process ASGI tests; restored after)."""
    gw = Gateway(NatsClient(nats_url))
    await gw.ready()
    monkeypatch.setattr(gateway_module, "_gateway", gw)
    yield gw
    await gw.stop()
