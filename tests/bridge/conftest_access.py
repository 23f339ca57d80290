"""Fixtures for access and revocation tests: a publisher and an outbox relay on the test nats-server, and a
NATS recorder.

A pytest plugin, registered by :mod:`tests.plugin`: tests name the fixtures, nothing to import.
"""

from __future__ import annotations

import asyncio
import itertools
import queue
import threading
from collections.abc import Iterator
from typing import Any

import nats
import pytest

from res_bridge import publisher as publisher_module
from res_bridge.relay import Relay
from res_protocol import loads
from tests.support import nats_round_trip

__all__ = ["published", "recorder", "test_publisher"]

MARKER = "system.test-marker"
_markers = itertools.count()


class Recorder:
    """Records what NATS delivers on ``system.>``, from a thread of its own."""

    def __init__(self, url: str, subject: str = "system.>") -> None:
        self.messages: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="nats-recorder", daemon=True)
        self._thread.start()
        self._nc: Any = None
        self._run(self._connect(url, subject))

    def _run(self, coro: Any, timeout: float = 10) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    async def _connect(self, url: str, subject: str) -> None:
        self._nc = await nats.connect(url, name="test recorder")
        await self._nc.subscribe(subject, cb=self._received)
        await nats_round_trip(self._nc)

    async def _received(self, msg: Any) -> None:
        self.messages.put((msg.subject, loads(msg.data) if msg.data else None))

    def take(self, through: publisher_module.Publisher, relay: Relay | None = None) -> list[tuple[str, Any]]:
        """Everything ``through`` (and ``relay``, from the outbox) published so far: a marker sent after it
        closes the list."""
        if relay is not None:
            assert self._run(relay.drain()), "the outbox relay did not drain"
        marker = {"n": next(_markers)}
        through.publish(MARKER, marker)
        taken = []
        while True:
            subject, data = self.messages.get(timeout=10)
            if (subject, data) == (MARKER, marker):
                return taken
            if subject != MARKER:
                taken.append((subject, data))

    def relay(self) -> Relay:
        """An outbox relay publishing on the recorder's connection."""
        relay = Relay(self._nc)
        self._run(relay.start())
        return relay

    def stop(self, relay: Relay) -> None:
        self._run(relay.stop())

    def close(self) -> None:
        self._run(self._nc.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()


@pytest.fixture(scope="session")
def test_publisher(nats_url: str) -> Iterator[publisher_module.Publisher]:
    """A publisher of its own, connected to the test nats-server for the whole session."""
    publisher = publisher_module.Publisher(nats_url)
    yield publisher
    publisher.close()


@pytest.fixture(scope="session")
def recorder(nats_url: str) -> Iterator[Recorder]:
    recorder = Recorder(nats_url)
    yield recorder
    recorder.close()


@pytest.fixture
def published(
    test_publisher: publisher_module.Publisher, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> Any:
    """``published()`` returns the messages published on ``system.>`` since the last call (directly, or
    through the outbox)."""
    monkeypatch.setattr(publisher_module, "publisher", test_publisher)
    relay = recorder.relay()
    recorder.take(test_publisher, relay)  # drop what earlier tests left
    yield lambda: recorder.take(test_publisher, relay)
    recorder.stop(relay)
