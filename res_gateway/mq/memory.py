"""An in-memory broker and messaging client: the gateway without a nats-server, for fast tests.

:class:`MemoryBroker` stands in for the server: subjects with NATS wildcards (``*`` one token, ``>`` one or
more at the end), each message delivered on the event loop in the order it was published, a request nobody
subscribes to answered at once with no responders. :class:`MemoryClient` is an
:class:`~res_gateway.mq.MQClient` on it that behaves as :class:`~res_gateway.mq.nats.NatsClient` does
(timeouts restarted by pre-responses, replies after the timeout dropped, failures while disconnected);
:meth:`MemoryClient.disconnect` and :meth:`MemoryClient.reconnect` play a lost and regained connection.

A service side talks to the broker, which gives handlers the reply subject::

    broker = MemoryBroker()
    answer = lambda subject, payload, reply: broker.publish(reply, b'{"result":{"model":{}}}')
    broker.subscribe("get.test.model", answer)
    gateway = Gateway(MemoryClient(broker))
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
from collections import deque
from collections.abc import Callable

from res_protocol import ResError, errors

from . import (
    MAX_SUBJECT_LENGTH,
    NO_RESPONDERS,
    NOT_CONNECTED,
    MessageHandler,
    PendingRequests,
    Responder,
    StateHandler,
    call_state_handler,
    check_payload,
)

logger = logging.getLogger("res_gateway.mq")

#: Called with (subject, payload, reply subject or None) for each message on a broker subscription.
BrokerHandler = Callable[[str, bytes, str | None], None]

#: nats-server's default max_payload.
MAX_PAYLOAD = 1024 * 1024


def matches(pattern: str, subject: str) -> bool:
    """Whether ``subject`` matches ``pattern`` (``*`` one token, a final ``>`` one or more)."""
    want, have = pattern.split("."), subject.split(".")
    for i, token in enumerate(want):
        if token == ">":
            return i == len(want) - 1 and len(have) > i
        if i >= len(have) or (token != "*" and token != have[i]):
            return False
    return len(want) == len(have)


def _check_pattern(pattern: str) -> None:
    tokens = pattern.split(".")
    if not all(tokens) or ">" in tokens[:-1] or any(len(t) > 1 and ("*" in t or ">" in t) for t in tokens):
        raise ValueError(f"invalid subject {pattern!r}")


class BrokerSubscription:
    """One subscription on the broker; :meth:`unsubscribe` drops what is still undelivered to it."""

    __slots__ = ("active", "broker", "handler", "subject")

    def __init__(self, broker: MemoryBroker, subject: str, handler: BrokerHandler) -> None:
        self.broker = broker
        self.subject = subject
        self.handler = handler
        self.active = True

    def unsubscribe(self) -> None:
        if self.active:
            self.active = False
            self.broker._remove(self)


class MemoryBroker:
    """Subjects and their subscriptions, with messages delivered in order on the running event loop."""

    def __init__(self) -> None:
        self._exact: dict[str, list[BrokerSubscription]] = {}
        self._wildcard: list[BrokerSubscription] = []
        self._queue: deque[tuple[BrokerSubscription, str, bytes, str | None]] = deque()
        self._scheduled = False
        self._flushes: list[asyncio.Future[None]] = []

    def subscribe(self, subject: str, handler: BrokerHandler) -> BrokerSubscription:
        """Call ``handler`` for every message published from now on to a subject ``subject`` matches."""
        _check_pattern(subject)
        sub = BrokerSubscription(self, subject, handler)
        if "*" in subject or ">" in subject:
            self._wildcard.append(sub)
        else:
            self._exact.setdefault(subject, []).append(sub)
        return sub

    def _remove(self, sub: BrokerSubscription) -> None:
        if sub in self._wildcard:
            self._wildcard.remove(sub)
        else:
            subs = self._exact[sub.subject]
            subs.remove(sub)
            if not subs:
                del self._exact[sub.subject]

    def subscribers(self, subject: str) -> list[BrokerSubscription]:
        """The subscriptions a message on ``subject`` reaches."""
        return [*self._exact.get(subject, ()), *(s for s in self._wildcard if matches(s.subject, subject))]

    def publish(self, subject: str, payload: bytes, reply: str | None = None) -> bool:
        """Queue the message for every subscription it reaches; False when it reaches none."""
        subs = self.subscribers(subject)
        for sub in subs:
            self._queue.append((sub, subject, payload, reply))
        if subs and not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._deliver)
        return bool(subs)

    def _deliver(self) -> None:
        """Hand every queued message to its handler, those published meanwhile included."""
        queue = self._queue
        while queue:
            sub, subject, payload, reply = queue.popleft()
            if not sub.active:
                continue
            try:
                sub.handler(subject, payload, reply)
            except Exception:  # one failed message must not stop the others
                logger.exception("handling a message on %s", subject)
        self._scheduled = False
        flushes, self._flushes = self._flushes, []
        for flushed in flushes:
            if not flushed.done():
                flushed.set_result(None)

    async def flush(self) -> None:
        """Return once every message published so far was delivered."""
        if self._scheduled:
            flushed = asyncio.get_running_loop().create_future()
            self._flushes.append(flushed)
            await flushed


class _Subscription:
    """A client's subscription, on the broker while the client is connected (as NATS resubscribes)."""

    __slots__ = ("client", "handler", "on_broker", "subject")

    def __init__(self, client: MemoryClient, subject: str, handler: BrokerHandler) -> None:
        self.client = client
        self.subject = subject
        self.handler = handler
        self.on_broker: BrokerSubscription | None = None

    def attach(self) -> None:
        self.on_broker = self.client.broker.subscribe(self.subject, self.handler)

    def detach(self) -> None:
        if self.on_broker is not None:
            self.on_broker.unsubscribe()
            self.on_broker = None

    def unsubscribe(self) -> None:
        self.client._subs.discard(self)
        self.detach()


class MemoryClient:
    """An :class:`~res_gateway.mq.MQClient` on a :class:`MemoryBroker` (a new one when none is given)."""

    def __init__(self, broker: MemoryBroker | None = None, *, max_payload: int = MAX_PAYLOAD) -> None:
        self.broker = broker if broker is not None else MemoryBroker()
        self.max_payload = max_payload
        self.on_disconnect: StateHandler | None = None
        self.on_reconnect: StateHandler | None = None
        self._connected = False
        self._closed = False
        self._subs: set[_Subscription] = set()
        self._inbox = f"_INBOX.{secrets.token_hex(11)}"  # as long as NatsClient's: same subject limits
        self._ids = itertools.count(1)
        self._pending = PendingRequests()
        self._unsent: list[tuple[str, bytes]] = []  # published while disconnected, sent on reconnect

    @property
    def connected(self) -> bool:
        return self._connected

    async def connect(self) -> None:
        self._connected = True
        self._closed = False
        self._add(f"{self._inbox}.*", self._on_reply)

    def _add(self, subject: str, handler: BrokerHandler) -> _Subscription:
        sub = _Subscription(self, subject, handler)
        self._subs.add(sub)
        if self._connected:
            sub.attach()
        return sub

    async def disconnect(self) -> None:
        """Lose the connection: requests in flight fail, messages meanwhile are missed; ``on_disconnect``."""
        self._connected = False
        for sub in self._subs:
            sub.detach()
        self._pending.fail_all(NOT_CONNECTED)
        await call_state_handler(self.on_disconnect)

    async def reconnect(self) -> None:
        """Regain the connection: subscribe again, send what was published meanwhile; ``on_reconnect``."""
        self._connected = True
        for sub in self._subs:
            sub.attach()
        unsent, self._unsent = self._unsent, []
        for subject, payload in unsent:
            self.broker.publish(subject, payload)
        await call_state_handler(self.on_reconnect)

    def _on_reply(self, subject: str, payload: bytes, reply: str | None) -> None:
        pending = self._pending.get(subject)
        if pending is not None:
            pending.receive(payload)

    def request(self, subject: str, payload: bytes, wait: float) -> asyncio.Future[bytes]:
        """Send a request: the future of the reply's payload, or of a :class:`~res_protocol.ResError`."""
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        inbox = f"{self._inbox}.{next(self._ids)}"
        try:
            if len(subject) + len(inbox) > MAX_SUBJECT_LENGTH:
                raise errors.SUBJECT_TOO_LONG()
            if not self._connected:
                raise NOT_CONNECTED()
            check_payload(payload, self.max_payload)
            if not self.broker.publish(subject, payload, inbox):
                raise NO_RESPONDERS()
        except ResError as e:
            future.set_exception(e)
            return future
        self._pending.add(inbox, future, wait)
        return future

    def subscribe(self, subject: str, handler: MessageHandler) -> _Subscription:
        if len(subject) + 32 > MAX_SUBJECT_LENGTH:
            raise errors.SUBJECT_TOO_LONG()
        return self._add(subject, lambda subject, payload, reply: handler(subject, payload))

    async def publish(self, subject: str, payload: bytes) -> None:
        if len(subject) + 32 > MAX_SUBJECT_LENGTH:
            raise errors.SUBJECT_TOO_LONG()
        if self._connected:
            self.broker.publish(subject, payload)
        elif not self._closed:
            self._unsent.append((subject, payload))

    def serve(self, subject: str, responder: Responder) -> _Subscription:
        def answer(subject: str, payload: bytes, reply: str | None) -> None:
            if reply:
                self.broker.publish(reply, responder(payload))

        return self._add(subject, answer)

    async def close(self) -> None:
        """Unsubscribe everything and fail requests in flight; ``on_disconnect``, as nats-py calls it."""
        if self._closed:
            return
        self._closed = True
        self._unsent.clear()
        await self.disconnect()
        self._subs.clear()


__all__ = ["MAX_PAYLOAD", "BrokerHandler", "BrokerSubscription", "MemoryBroker", "MemoryClient", "matches"]
