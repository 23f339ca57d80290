"""The messaging interface the gateway talks through (connect, request, subscribe, publish, close).

Like resgate's ``server/mq``: small enough that the transport can be swapped. :class:`~.nats.NatsClient`
is the real implementation, :class:`~.memory.MemoryClient` an in-memory one for tests. Requests return
the raw reply payload or raise a :class:`~res_protocol.ResError` (``system.timeout``, ``system.notFound``
for no responders, ``system.subjectTooLong``, ``system.internalError`` while disconnected).
"""

from __future__ import annotations

import asyncio
import re
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Protocol

from res_protocol import ResError, errors

from ..metrics import metrics

#: Called with (subject, payload) for each message on a subscription.
MessageHandler = Callable[[str, bytes], None]
#: Called with a request's payload; returns the reply's.
Responder = Callable[[bytes], bytes]
#: Called without arguments when the connection is lost or regained.
StateHandler = Callable[[], Awaitable[None] | None]


class NoResponders(ResError):
    """``system.notFound`` for a request nobody listens to (unlike a service's notFound)."""


#: Raise a fresh copy: ``NO_RESPONDERS()``.
NO_RESPONDERS = NoResponders(errors.CODE_NOT_FOUND, errors.NOT_FOUND.message)

#: NATS max control line: a request's subject plus its reply inbox must fit in it.
MAX_SUBJECT_LENGTH = 4096

NOT_CONNECTED = errors.internal_error("not connected to NATS")

_PRE_RESPONSE = re.compile(rb'timeout:"(\d+)"')


def reply_of(request: asyncio.Future[bytes]) -> bytes | ResError:
    """A finished request's reply payload, or the :class:`ResError` it failed with."""
    if request.cancelled():
        return errors.internal_error("request cancelled")
    error = request.exception()
    if error is None:
        return request.result()
    return error if isinstance(error, ResError) else errors.internal_error(str(error) or type(error).__name__)


def check_payload(payload: bytes, max_payload: int) -> None:
    """``system.invalidParams`` for a request larger than the server takes."""
    if len(payload) > max_payload:
        metrics.refuse("maxPayload")
        raise errors.invalid_params(
            f"Request too large: {len(payload)} bytes, NATS takes at most {max_payload}"
        )


class PendingRequest:
    """One request awaiting its reply until its deadline; it leaves its table once answered or failed."""

    __slots__ = ("deadline", "future", "inbox", "requests")

    def __init__(self, requests: PendingRequests, inbox: str, future: asyncio.Future[bytes]) -> None:
        self.requests = requests
        self.inbox = inbox
        self.future: asyncio.Future[bytes] | None = future
        self.deadline = 0.0

    def receive(self, data: bytes) -> None:
        """A reply: a pre-response ``timeout:"<ms>"`` restarts the timer, anything else resolves."""
        if data[:1].isalpha():
            m = _PRE_RESPONSE.search(data)
            if m:
                self.requests.expire_in(self, int(m.group(1)) / 1000)
            return
        future = self._forget()
        if future is not None and not future.done():
            future.set_result(data)

    def fail(self, error: Exception) -> None:
        future = self._forget()
        if future is not None and not future.done():
            future.set_exception(error)

    def expire(self, deadline: float) -> None:
        """Time out, unless answered meanwhile or given another deadline."""
        if deadline == self.deadline:
            self.fail(errors.TIMEOUT())

    def _forget(self) -> asyncio.Future[bytes] | None:
        """Leave the table; the future, which nothing here holds any more (a deadline may still wait)."""
        future, self.future = self.future, None
        if self.requests.by_inbox.get(self.inbox) is self:
            del self.requests.by_inbox[self.inbox]
        return future


class PendingRequests:
    """A client's requests awaiting their replies, by reply inbox, timed out with one loop timer.

    Requests sent with the same timeout reach their deadlines in the order they were sent: the deadlines
    wait in a queue, and one timer, set for the oldest, serves them all (a timer per request costs more than
    the rest of its bookkeeping). A deadline earlier than the last one queued (a shorter timeout) gets a
    timer of its own. Answered requests leave the queue as new ones come, from the oldest on.
    """

    def __init__(self) -> None:
        self.by_inbox: dict[str, PendingRequest] = {}
        self._deadlines: deque[tuple[float, PendingRequest]] = deque()
        self._timer: asyncio.TimerHandle | None = None

    def add(self, inbox: str, future: asyncio.Future[bytes], timeout: float) -> None:
        """Await the reply on ``inbox`` for ``future``; ``system.timeout`` after ``timeout`` seconds."""
        pending = self.by_inbox[inbox] = PendingRequest(self, inbox, future)
        self.expire_in(pending, timeout)

    def get(self, inbox: str) -> PendingRequest | None:
        return self.by_inbox.get(inbox)

    def fail_all(self, error: ResError) -> None:
        for pending in list(self.by_inbox.values()):
            pending.fail(error())

    def expire_in(self, pending: PendingRequest, timeout: float) -> None:
        """(Re)set the deadline of ``pending`` to ``timeout`` seconds from now."""
        loop = asyncio.get_running_loop()
        deadline = pending.deadline = loop.time() + timeout
        deadlines = self._deadlines
        while deadlines and deadlines[0][1].future is None:  # answered: most are, soon after they are sent
            deadlines.popleft()
        if deadlines and deadline < deadlines[-1][0]:
            loop.call_at(deadline, pending.expire, deadline)
            return
        deadlines.append((deadline, pending))
        if self._timer is None:
            self._timer = loop.call_at(deadline, self._expire)

    def _expire(self) -> None:
        deadlines = self._deadlines
        now = asyncio.get_running_loop().time()
        while deadlines and deadlines[0][0] <= now:
            deadline, pending = deadlines.popleft()
            pending.expire(deadline)
        self._timer = asyncio.get_running_loop().call_at(deadlines[0][0], self._expire) if deadlines else None


async def call_state_handler(handler: StateHandler | None) -> None:
    """Call ``on_disconnect`` or ``on_reconnect`` if set, awaiting what it returns."""
    if handler is not None:
        result = handler()
        if result is not None:
            await result


class Subscription(Protocol):
    def unsubscribe(self) -> None:
        """Stop at once; the broker is told after anything sent before."""
        ...


class MQClient(Protocol):
    """A connection to the message broker."""

    on_disconnect: StateHandler | None
    on_reconnect: StateHandler | None

    @property
    def connected(self) -> bool: ...

    async def connect(self) -> None: ...

    def request(self, subject: str, payload: bytes, wait: float) -> Awaitable[bytes]:
        """The reply's payload (a coroutine, or a future the caller may add callbacks to)."""
        ...

    def subscribe(self, subject: str, handler: MessageHandler) -> Subscription:
        """Subscribe at once: the broker knows it before anything this client sends later (a get for
        the resource whose events it carries), with no round trip to wait for."""
        ...

    async def publish(self, subject: str, payload: bytes) -> None: ...

    def serve(self, subject: str, responder: Responder) -> Subscription:
        """Answer every request on ``subject`` (to its reply subject) with what ``responder`` returns."""
        ...

    async def close(self) -> None: ...


__all__ = [
    "MAX_SUBJECT_LENGTH",
    "NOT_CONNECTED",
    "NO_RESPONDERS",
    "MQClient",
    "MessageHandler",
    "NoResponders",
    "PendingRequest",
    "PendingRequests",
    "Responder",
    "StateHandler",
    "Subscription",
    "call_state_handler",
    "check_payload",
    "reply_of",
]
