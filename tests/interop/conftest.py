"""Fixtures for the interop tests: the gateway started by ``manage.py rungateway``, the in-memory book
service, and ResClient instances running in Node."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest

from tests.interop.client import HERE, NODE, NodeResClient, install_node_modules
from tests.interop.gateway import Gateway
from tests.interop.service import BOOKS, BookService
from tests.support import require


@pytest.fixture(scope="session")
def node_modules() -> None:
    require(NODE is not None, "node is not installed")
    install_node_modules(HERE)


@pytest.fixture(scope="module")
def gateway(nats_url: str) -> Iterator[Gateway]:
    """One gateway for a module's tests; each test's service has its own RID root."""
    gw = Gateway(nats_url)
    yield gw
    gw.stop()


@pytest.fixture
async def books(nats_url: str) -> AsyncIterator[BookService]:
    service = BookService(BOOKS)
    await service.start(nats_url)
    yield service
    await service.stop()


@pytest.fixture
async def resclient(
    node_modules: None, gateway: Gateway
) -> AsyncIterator[Callable[[], Awaitable[NodeResClient]]]:
    """Factory: ``await resclient()`` starts one more ResClient on the gateway (closed after the test)."""
    started: list[NodeResClient] = []

    async def start() -> NodeResClient:
        client = await NodeResClient.start(gateway.ws_url)
        started.append(client)
        return client

    yield start
    for client in started:
        await client.close()
