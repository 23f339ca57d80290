"""Session-wide fixtures: a real nats-server for the whole test session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import NatsServer


@pytest.fixture(scope="session")
def nats_server() -> Iterator[NatsServer]:
    server = NatsServer()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def nats_url(nats_server: NatsServer) -> str:
    return nats_server.url
