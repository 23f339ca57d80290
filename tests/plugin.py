"""The shared test kit as one pytest plugin, registered in ``tests/conftest.py``: fixtures need no imports.

- ``nats_server``, ``nats_url``: one real nats-server for the whole session.
- ``start_gateway`` (gateway processes) and ``service`` (a recording RES service), from :mod:`tests.harness`.
- ``rungateway`` (``manage.py rungateway`` as a child process), from :mod:`tests.gateway.running`.
- ``test_publisher``, ``recorder``, ``published``, from :mod:`tests.bridge.conftest_access`.

A directory's ``conftest.py`` may override a name for its tests (``tests/bridge`` has its own ``service``;
``tests/gateway`` has ``gateway``, ``client`` and ``connect``). The harness's fixtures of those three names
stay out of the plugin: ``client`` would hide pytest-django's. Helpers are imported by path.
``tests/gateway/conftest.py`` also has the ``mem_`` fixtures of the in-process kit
(:mod:`tests.gateway.inprocess`).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.harness import service, start_gateway
from tests.support import NatsServer

pytest_plugins = ["tests.gateway.running", "tests.bridge.conftest_access"]

__all__ = ["nats_server", "nats_url", "service", "start_gateway"]


@pytest.fixture(scope="session")
def nats_server() -> Iterator[NatsServer]:
    server = NatsServer()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def nats_url(nats_server: NatsServer) -> str:
    return nats_server.url
