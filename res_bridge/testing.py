"""Helpers to test your own resources: a real service in-process, a client that asks it as a gateway
would, and the events a block of code publishes (``docs/bridge.md``, "Testing your resources").

    @pytest.mark.django_db(transaction=True)  # the service runs the ORM on threads of its own
    async def test_rename(nats_url):
        async with serve(nats_url) as client:
            events = await client.listen("event.library.book.1.>")
            await client.call("library.book.1", "set", {"title": "Emma"}, token=token_for(user))
            assert await events.wait(1) == [("event.library.book.1.change", {"values": {"title": "Emma"}})]

    with capture_events() as events:   # no NATS needed: the events are held, not sent
        Book.objects.create(title="Dune", author="Frank Herbert")

An error reply raises :class:`~res_protocol.ResError`; compare its ``code`` with ``res_protocol.errors``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import nats
from django.db import DEFAULT_DB_ALIAS
from django.test import TestCase

from res_protocol import decode_response, dumps, errors, loads, split_rid

from . import publisher as publisher_module
from .models import OutboxEntry
from .registry import Registry, registry
from .relay import outgoing
from .requests import ResourceResponse
from .service import Service

#: How long a request waits for its reply, unless the service asks for more (seconds).
TIMEOUT = 5.0

__all__ = ["Listener", "ResClient", "capture_events", "serve"]


@contextlib.asynccontextmanager
async def serve(nats_url: str, registry: Registry = registry) -> AsyncIterator[ResClient]:
    """Run a :class:`~res_bridge.service.Service` for ``registry`` on this loop; yield a client for it.

    The service has a queue group of its own, so it never shares the requests with another group member;
    run a nats-server of the tests' own, so no other service answers. It is stopped (its queued events
    delivered) when the block ends.
    """
    service = Service(registry, nats_url=nats_url, queue_group=f"test-{uuid.uuid4().hex}")
    await service.start()
    try:
        await publisher_module.round_trip(service.nc, TIMEOUT)  # subscribed before the first request
        async with ResClient.connect(nats_url) as client:
            yield client
    finally:
        await service.stop()


class ResClient:
    """Sends RES requests as a gateway does (``cid`` is the connection's id) and decodes the replies."""

    def __init__(self, nc: Any, cid: str = "testclient") -> None:
        self.nc = nc
        self.cid = cid

    @classmethod
    @contextlib.asynccontextmanager
    async def connect(cls, nats_url: str, cid: str = "testclient") -> AsyncIterator[ResClient]:
        """A client on a connection of its own, closed when the block ends."""
        nc = await nats.connect(nats_url, allow_reconnect=False, name="res_bridge test client")
        try:
            yield cls(nc, cid)
        finally:
            await nc.close()

    async def get(self, rid: str) -> Any:
        """``{"model": {...}}`` or ``{"collection": [...]}`` (and ``query`` for a query resource)."""
        name, query = split_rid(rid)
        return await self.request(f"get.{name}", {"query": query} if query else {})

    async def access(self, rid: str, token: Any = None) -> Any:
        """The access result for ``token``: ``{"get": bool, "call": "..." or None}``."""
        name, query = split_rid(rid)
        return await self.request(f"access.{name}", {"token": token, "cid": self.cid, "query": query})

    async def call(self, rid: str, method: str, params: Any = None, token: Any = None) -> Any:
        """The call's result, or a :class:`~res_bridge.requests.ResourceResponse` for a resource reply."""
        payload = {"params": params, "token": token, "cid": self.cid}
        return await self.request(f"call.{rid}.{method}", payload)

    async def auth(self, rid: str, method: str, params: Any = None, token: Any = None, **info: Any) -> Any:
        """An auth request; ``info`` adds ``header``, ``host``, ``remoteAddr``, ``uri``, ``isHttp``."""
        payload = {"params": params, "token": token, "cid": self.cid, **info}
        return await self.request(f"auth.{rid}.{method}", payload)

    async def request(self, subject: str, payload: Any, wait: float = TIMEOUT) -> Any:
        """Send one request and wait ``wait`` seconds for the reply (``TimeoutError`` then).

        As in a gateway, a pre-response (``timeout:"<ms>"``) sets a new wait from now, and a request nobody
        listens to is ``system.notFound``."""
        inbox = self.nc.new_inbox()
        sub = await self.nc.subscribe(inbox)
        try:
            await self.nc.publish(subject, dumps(payload), reply=inbox)
            deadline = time.monotonic() + wait
            while True:
                try:
                    msg = await sub.next_msg(timeout=max(deadline - time.monotonic(), 0.001))
                except nats.errors.TimeoutError:
                    raise TimeoutError(f"no reply to {subject} in time") from None
                if not msg.data and (msg.headers or {}).get("Status") == "503":
                    raise errors.NOT_FOUND()  # no responders: as a gateway answers
                if not msg.data.startswith(b"timeout:"):
                    break
                deadline = time.monotonic() + int(loads(msg.data[len(b"timeout:") :])) / 1000
        finally:
            await sub.unsubscribe()
        response = decode_response(msg.data, allow_resource=True)
        if response.error is not None:
            raise response.error()
        return ResourceResponse(response.resource) if response.resource is not None else response.result

    async def listen(self, subject: str) -> Listener:
        """Record what NATS delivers on ``subject`` (wildcards allowed) from now on."""
        listener = Listener()
        await self.nc.subscribe(subject, cb=listener._received)
        await self.nc.flush()
        return listener


class Listener:
    """Messages received on a subject, in order, as ``(subject, payload)``: the payload decoded from JSON,
    ``None`` when empty, the bytes as they came when not JSON."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, Any]] = []
        self._changed = asyncio.Event()

    async def _received(self, msg: Any) -> None:
        self.messages.append((msg.subject, _decode(msg.data)))
        self._changed.set()

    async def wait(self, count: int) -> list[tuple[str, Any]]:
        """Wait until ``count`` messages arrived (``TimeoutError`` after :data:`TIMEOUT`); return them all."""
        async with asyncio.timeout(TIMEOUT):
            while len(self.messages) < count:
                self._changed.clear()
                await self._changed.wait()
        return self.messages


def _decode(data: bytes) -> Any:
    if not data:
        return None
    try:
        return loads(data)
    except ValueError:
        return data


@contextlib.contextmanager
def capture_events(
    using: str = DEFAULT_DB_ALIAS, registry: Registry = registry
) -> Iterator[list[tuple[str, Any]]]:
    """Hold what the block sends instead of sending it; the list is filled when the block ends.

    Each message is ``(subject, decoded payload or None)``: what the block publishes directly, then what
    the relay would send for the outbox rows the block wrote (README, "Change capture").
    In a ``TestCase`` (one transaction per test, never committed), the on-commit callbacks the block
    registered run at its end as if it committed.
    """
    held: list[tuple[str, bytes]] = []
    events: list[tuple[str, Any]] = []
    outbox = OutboxEntry.objects.using(using).order_by("id")
    last = outbox.values_list("id", flat=True).last() or 0
    try:
        with (
            publisher_module.publisher.capture(held),
            TestCase.captureOnCommitCallbacks(using=using, execute=True),
        ):
            yield events
    finally:
        held += outgoing(list(outbox.filter(id__gt=last)), registry)
        events.extend((subject, _decode(data)) for subject, data in held)
