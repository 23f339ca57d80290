"""Fixtures for the bridge: the RES service on the test's loop, a NATS client, an event recorder."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import nats
import pytest
from channels.db import database_sync_to_async
from django.core.cache import cache

from res_bridge.publisher import round_trip
from res_bridge.service import Service
from res_bridge.testing import Listener
from res_protocol import dumps, loads


class Recorder(Listener):
    """A :class:`~res_bridge.testing.Listener` for the bridge's own tests: settle on a round trip, clear."""

    _on = Listener._received  # the subscription callback, as the tests name it

    async def settle(self, nc: Any) -> list[tuple[str, Any]]:
        """Everything received up to now (after a round trip through the server)."""
        await round_trip(nc, 5)
        await asyncio.sleep(0.05)
        return self.messages

    def clear(self) -> None:
        self.messages.clear()


@pytest.fixture(autouse=True)
def _fresh_login_failures() -> None:
    """Failed logins are counted in the cache (res_bridge.logins): each test starts with none."""
    cache.clear()


@pytest.fixture
async def nc(nats_url: str) -> AsyncIterator[Any]:
    client = await nats.connect(nats_url)
    yield client
    await client.close()


@pytest.fixture
async def record(nc: Any):
    """``await record("event.>")`` returns a :class:`Recorder` subscribed to the subject."""

    async def subscribe(subject: str) -> Recorder:
        recorder = Recorder()
        await nc.subscribe(subject, cb=recorder._on)
        await round_trip(nc, 5)
        return recorder

    return subscribe


@pytest.fixture
async def service(nats_url: str) -> AsyncIterator[Service]:
    svc = Service(nats_url=nats_url, queue_group=f"test-{uuid.uuid4().hex}")
    await svc.start()
    await round_trip(svc.nc, 5)  # its subscriptions are known to the server before the test's requests
    yield svc
    await svc.stop()


@pytest.fixture
def ask(nc: Any):
    """``await ask("get.library.books", {...})`` sends a request and decodes the reply."""

    async def request(subject: str, payload: Any = None, raw: bytes | None = None) -> Any:
        data = raw if raw is not None else dumps(payload if payload is not None else {})
        msg = await nc.request(subject, data, timeout=5)
        return loads(msg.data)

    return request


def db(func: Any) -> Any:
    """Run ORM code from an async test (closing the connection afterwards, as Channels does)."""
    return database_sync_to_async(func)
