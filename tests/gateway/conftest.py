"""Gateway tests share the harness fixtures; their clients speak the latest protocol unless legacy.

The ``mem_`` fixtures are the in-process kit of :mod:`tests.gateway.inprocess`: the same service and client
API on a gateway in the test's event loop, on the in-memory broker.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from res_gateway import gateway as gateway_module
from res_gateway.connection import RequestInfo
from res_gateway.gateway import Gateway
from res_gateway.mq.memory import MemoryBroker, MemoryClient
from res_gateway.mq.nats import NatsClient
from tests.gateway.inprocess import CONFIG, memory_service, open_in_process
from tests.harness import Client, GatewayProcess, Service, run_gateway


@pytest.fixture(scope="session")
def gateway(nats_url: str) -> Iterator[GatewayProcess]:
    """One gateway for all gateway tests (a short request timeout keeps timeout cases quick)."""
    gw = run_gateway(nats_url, requestTimeout=1500)
    yield gw
    gw.stop()


async def greet(c: Client, version: str | None) -> Client:
    """Send the client's version request (none for None: a legacy client)."""
    if version is not None:
        assert (await c.request("version", {"protocol": version}))["result"] == {"protocol": "1.2.3"}
    return c


async def open_client(url: str, version: str | None = "1.2.3", **kwargs: Any) -> Client:
    return await greet(await Client.connect(url, **kwargs), version)


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


# --- the in-process kit -----------------------------------------------------------------------------


@pytest.fixture
def mem_config() -> dict[str, Any]:
    """RES_GATEWAY settings of ``mem_gateway`` over the kit's defaults; a module may override it."""
    return {}


@pytest.fixture
def broker() -> MemoryBroker:
    return MemoryBroker()


@pytest.fixture
async def mem_gateway(
    broker: MemoryBroker, mem_config: dict[str, Any], settings: Any
) -> AsyncIterator[Gateway]:
    """A connected gateway on the in-memory broker, in the test's event loop."""
    settings.RES_GATEWAY = {**CONFIG, **mem_config}
    gw = Gateway(MemoryClient(broker))
    await gw.ready()
    yield gw
    await gw.stop()


@pytest.fixture
async def mem_service(broker: MemoryBroker) -> AsyncIterator[Service]:
    svc = await memory_service(broker)
    yield svc
    await svc.close()


@pytest.fixture
async def mem_connect(mem_gateway: Gateway) -> AsyncIterator[Callable[..., Any]]:
    """``await mem_connect(version="1.2.3", request_info=None)``: an in-process client, version sent."""
    clients: list[Client] = []

    async def connect_client(
        version: str | None = "1.2.3", request_info: RequestInfo | None = None
    ) -> Client:
        c = await greet(await open_in_process(mem_gateway, request_info), version)
        clients.append(c)
        return c

    yield connect_client
    for c in clients:
        await c.close()


@pytest.fixture
async def mem_client(mem_connect: Callable[..., Any]) -> Client:
    return await mem_connect()


@pytest.fixture
async def mem_legacy_client(mem_connect: Callable[..., Any]) -> Client:
    """An in-process client that never sent a version request (protocol 1.1.1)."""
    return await mem_connect(version=None)
