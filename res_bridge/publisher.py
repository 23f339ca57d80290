"""Publishing RES events from synchronous Django code: views, admin, shell, workers.

One long-lived NATS connection per process runs on a background thread with its own event loop.
:func:`publish` never blocks and is thread-safe. While NATS is unreachable, messages wait in a
buffer of ``EVENT_BUFFER_SIZE``; when it overflows, the buffer is dropped with a log line and, once
NATS is back, a ``system.reset`` for the resources it held goes out first. Pending messages are
flushed at interpreter exit, so ``manage.py shell -c`` and cron commands deliver.

Inside the service process, messages go through the service's own connection instead (so they
keep their order with its replies), and during a request they are held until just before its reply.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import contextvars
import logging
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any, Protocol

import nats

from res_protocol import dumps, is_valid_part, loads

from .conf import bridge_settings

logger = logging.getLogger(__name__)

Message = tuple[str, bytes]

#: Event names the protocol defines; a custom event may not use them.
RESERVED_EVENTS = frozenset(
    {"add", "change", "create", "delete", "patch", "query", "reaccess", "remove", "reset", "unsubscribe"}
)

#: While set (by the service, around a request), messages are appended here instead of being sent.
_captured: contextvars.ContextVar[list[Message] | None] = contextvars.ContextVar("res_captured", default=None)


class Transport(Protocol):
    def send_threadsafe(self, subject: str, data: bytes) -> None: ...


class Publisher:
    """The process's NATS connection for publishing (see the module docstring)."""

    def __init__(self, nats_url: str | None = None, reconnect_wait: float = 0.5) -> None:
        self.nats_url = nats_url
        self.reconnect_wait = reconnect_wait
        self._lock = threading.Lock()
        self._buffer: deque[Message] = deque()
        self._lost_resources: set[str] = set()
        self._lost_access: set[str] = set()
        self._transport: Transport | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._idle = threading.Event()
        self._nc: Any = None
        self._task: asyncio.Task[None] | None = None
        self._sent = self._confirmed = 0  # messages handed to NATS, and known to have reached it
        self._closing = False

    @property
    def connected(self) -> bool:
        return self._nc is not None and self._nc.is_connected

    def publish(self, subject: str, payload: dict[str, Any] | bytes) -> None:
        """Queue a message for NATS and return at once (JSON-encoded unless already bytes)."""
        data = payload if isinstance(payload, bytes) else dumps(payload)
        captured = _captured.get()
        if captured is not None:
            captured.append((subject, data))
            return
        if self._transport is not None:
            self._transport.send_threadsafe(subject, data)
            return
        with self._lock:
            if len(self._buffer) >= bridge_settings.EVENT_BUFFER_SIZE:
                self._overflow()
            self._buffer.append((subject, data))
            self._idle.clear()
        self._start()
        self._loop.call_soon_threadsafe(self._wake.set)  # type: ignore[union-attr]

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything published so far has reached NATS; False if it did not in time."""
        if self._transport is not None or self._thread is None:
            return True
        timeout = bridge_settings.FLUSH_TIMEOUT if timeout is None else timeout
        if not self._idle.wait(timeout):
            with self._lock:
                pending = len(self._buffer)
            logger.warning("%d RES messages not delivered: NATS is unreachable", pending)
            return False
        sent = self._sent
        if sent == self._confirmed:
            return True
        future = asyncio.run_coroutine_threadsafe(round_trip(self._nc, timeout), self._loop)  # type: ignore[arg-type]
        try:
            future.result(timeout + 1)
        except Exception as e:  # noqa: BLE001 - a flush that fails must not break the caller
            logger.warning(
                "%d RES messages not delivered: NATS did not confirm them (%s)", sent - self._confirmed, e
            )
            return False
        self._confirmed = max(self._confirmed, sent)
        return True

    def close(self, timeout: float | None = None) -> None:
        """Flush, then stop the background connection (it starts again on the next publish)."""
        if self._thread is None:
            return
        self.flush(timeout)
        atexit.unregister(self.flush)
        self._closing = True
        self._loop.call_soon_threadsafe(self._task.cancel)  # type: ignore[union-attr]
        self._thread.join()
        self._thread, self._closing = None, False

    @contextlib.contextmanager
    def capture(self, into: list[Message]) -> Iterator[list[Message]]:
        """Hold messages published in this context (and threads it spawns) in ``into``."""
        token = _captured.set(into)
        try:
            yield into
        finally:
            _captured.reset(token)

    def attach(self, transport: Transport | None) -> None:
        """Route messages through ``transport`` (the service in this process), or stop doing so."""
        self._transport = transport

    # -- the background thread ------------------------------------------------------------------

    def _start(self) -> None:
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is not None:
                return
            ready = threading.Event()
            self._thread = threading.Thread(
                target=self._run, args=(ready,), name="res-publisher", daemon=True
            )
            self._thread.start()
            ready.wait()
            atexit.register(self.flush)

    def _run(self, ready: threading.Event) -> None:
        self._loop = loop = asyncio.new_event_loop()
        self._wake = asyncio.Event()
        self._task = loop.create_task(self._serve())
        ready.set()
        with contextlib.suppress(asyncio.CancelledError):
            loop.run_until_complete(self._task)
        loop.close()

    async def _serve(self) -> None:
        try:
            self._nc = await nats.connect(
                servers=[self.nats_url] if self.nats_url else bridge_settings.nats_servers,
                max_reconnect_attempts=-1,
                reconnect_time_wait=self.reconnect_wait,
                reconnected_cb=self._on_reconnected,
                disconnected_cb=self._on_disconnected,
                error_cb=self._on_error,
                name="res_bridge publisher",
            )
            while True:
                await self._wake.wait()  # type: ignore[union-attr]
                self._wake.clear()  # type: ignore[union-attr]
                await self._drain()
        finally:
            if self._nc is not None:
                nc, self._nc = self._nc, None
                await nc.close()

    async def _drain(self) -> None:
        while self._nc.is_connected:
            with self._lock:
                reset = self._take_reset()
                item = reset or (self._buffer.popleft() if self._buffer else None)
                if item is None:
                    self._idle.set()
                    return
            try:
                await self._nc.publish(*item)
                self._sent += 1
            except Exception as e:  # noqa: BLE001 - keep the message for the next connection
                logger.warning("publishing %s failed: %s", item[0], e)
                with self._lock:
                    self._buffer.appendleft(item)
                return

    def _overflow(self) -> None:
        """Drop the buffer (lock held), remembering what a reset must cover."""
        for subject, data in self._buffer:
            if subject.startswith("event."):
                self._lost_resources.add(subject[6:].rpartition(".")[0])
            elif subject == "system.reset":
                body = loads(data)
                self._lost_resources.update(body.get("resources") or ())
                self._lost_access.update(body.get("access") or ())
        logger.error(
            "RES event buffer overflow (%d messages) while NATS is unreachable: dropped; "
            "a system.reset follows when NATS is back",
            len(self._buffer),
        )
        self._buffer.clear()

    def _take_reset(self) -> Message | None:
        if not self._lost_resources and not self._lost_access:
            return None
        message = reset_message(self._lost_resources, self._lost_access)
        self._lost_resources, self._lost_access = set(), set()
        return message

    async def _on_reconnected(self) -> None:
        logger.info("publisher reconnected to NATS")
        self._wake.set()  # type: ignore[union-attr]

    async def _on_disconnected(self) -> None:
        if not self._closing:
            logger.warning("publisher lost its NATS connection; buffering events")

    async def _on_error(self, e: Exception) -> None:
        logger.debug("publisher NATS error: %s", e)


async def round_trip(nc: Any, seconds: float) -> None:
    """Return once the server has processed everything ``nc`` sent so far.

    ``nc.flush()`` is no barrier: nats-py writes its PING ahead of commands still pending.
    A message to our own inbox is: it is queued behind them.
    """
    inbox = nc.new_inbox()
    sub = await nc.subscribe(inbox, max_msgs=1)
    await nc.publish(inbox, b"")
    await sub.next_msg(timeout=seconds)


def reset_message(resources: Iterable[str] = (), access: Iterable[str] = ()) -> Message:
    body: dict[str, list[str]] = {}
    if resources:
        body["resources"] = sorted(resources)
    if access:
        body["access"] = sorted(access)
    return "system.reset", dumps(body)


publisher = Publisher()


def publish(subject: str, payload: dict[str, Any] | bytes) -> None:
    """Publish a message to NATS from any thread, without blocking."""
    publisher.publish(subject, payload)


def publish_reset(resources: Iterable[str] = (), access: Iterable[str] = ()) -> None:
    """``system.reset``: gateways re-get matching resources and re-check matching access."""
    resources, access = list(resources), list(access)
    if resources or access:
        publisher.publish(*reset_message(resources, access))


def publish_token_reset(tids: Iterable[str], subject: str) -> None:
    """``system.tokenReset``: gateways send an auth request to ``subject`` for each connection with a tid."""
    tids = list(tids)
    if tids:
        publisher.publish("system.tokenReset", {"tids": tids, "subject": subject})


def publish_event(rid: str, name: str, payload: Any = None) -> None:
    """A custom event on a resource; the protocol's own event names are refused."""
    if name in RESERVED_EVENTS or not is_valid_part(name):
        raise ValueError(f"{name!r} cannot be a custom event name")
    publisher.publish(f"event.{rid}.{name}", b"" if payload is None else dumps(payload))


def publish_reaccess(rid: str) -> None:
    """``reaccess``: gateways ask for access to the resource again for its direct subscribers."""
    publisher.publish(f"event.{rid}.reaccess", b"")


def flush(timeout: float | None = None) -> bool:
    """Wait until published messages have reached NATS (``FLUSH_TIMEOUT`` by default)."""
    return publisher.flush(timeout)
