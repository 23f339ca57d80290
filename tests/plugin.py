"""The shared test kit as one pytest plugin, registered in ``tests/conftest.py``: fixtures need no imports.

- ``nats_server``, ``nats_url``: one real nats-server for the whole session.
- From :mod:`tests.harness`: ``start_gateway``, ``gateway``, ``service``, ``client``, ``connect``.
- From :mod:`tests.gateway.running`: ``rungateway`` (``manage.py rungateway`` as a child process).
- From :mod:`tests.bridge.conftest_access`: ``test_publisher``, ``recorder``, ``published``.

A directory's ``conftest.py`` may override a name for its tests (``tests/bridge`` has its own ``service``,
``tests/gateway`` one gateway for the session); helpers (classes, functions) are still imported by path.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import NatsServer

pytest_plugins = ["tests.harness", "tests.gateway.running", "tests.bridge.conftest_access"]


@pytest.fixture(scope="session")
def nats_server() -> Iterator[NatsServer]:
    server = NatsServer()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def nats_url(nats_server: NatsServer) -> str:
    return nats_server.url
