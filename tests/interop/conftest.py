"""Fixtures for the interop tests: the gateway started by ``manage.py rungateway``, the in-memory book
service, and ResClient instances running in Node."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest

from tests.interop.client import HERE, NODE, NodeResClient, install_node_modules
from tests.interop.service import BOOKS, BookService
from tests.support import Process, free_port, manage, require, wait_for_port


def run_gateway(nats_url: str, port: int) -> Process:
    """``manage.py rungateway`` on ``port``, waited for until it listens; the caller stops it."""
    env = {"RES_GATEWAY": json.dumps({"unsubscribeDelay": 0}), "PYTHONUNBUFFERED": "1"}
    args = ["--nats", nats_url, "--addr", "127.0.0.1", "--port", str(port)]
    process = manage("rungateway", *args, env=env, name="interop-gateway")
    try:
        wait_for_port(port, timeout=30, proc=process.proc)
    except Exception:
        process.stop()
        raise RuntimeError(f"gateway did not start:\n{process.output()}")
    return process


class Gateway:
    """The gateway under test; :meth:`restart` starts it again on the same port."""

    def __init__(self, nats_url: str) -> None:
        self.nats_url = nats_url
        self.port = free_port()
        self.current: Process | None = run_gateway(nats_url, self.port)

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    def stop(self) -> None:
        if self.current is not None:
            self.current.stop()
            self.current = None

    def start(self) -> None:
        self.current = run_gateway(self.nats_url, self.port)


@pytest.fixture(scope="session")
def node_modules() -> None:
    require(NODE is not None, "node is not installed")
    install_node_modules(HERE)


@pytest.fixture
def gateway(nats_url: str) -> Iterator[Gateway]:
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
