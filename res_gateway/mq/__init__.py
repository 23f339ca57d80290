"""The messaging interface the gateway talks through (connect, request, subscribe, publish, close).

Like resgate's ``server/mq``: small enough that the transport can be swapped. :class:`~.nats.NatsClient`
is the real implementation, :class:`~.memory.MemoryClient` an in-memory one for tests. Requests return
the raw reply payload or raise a :class:`~res_protocol.ResError` (``system.timeout``, ``system.notFound``
for no responders, ``system.subjectTooLong``, ``system.internalError`` while disconnected).
"""

from __future__ import annotations

import asyncio
import re
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
    """One request awaiting its reply, with a restartable timer; it leaves ``table`` once answered."""

    __slots__ = ("future", "inbox", "table", "timer")

    def __init__(self, future: asyncio.Future[bytes], table: dict[str, PendingRequest], inbox: str) -> None:
        self.future = future
        self.table = table
        self.inbox = inbox
        self.timer: asyncio.TimerHandle | None = None
        table[inbox] = self

    def restart(self, timeout: float) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.timer = self.future.get_loop().call_later(timeout, self.time_out)

    def time_out(self) -> None:
        self.fail(errors.TIMEOUT())

    def receive(self, data: bytes) -> None:
        """A reply: a pre-response ``timeout:"<ms>"`` restarts the timer, anything else resolves."""
        if data[:1].isalpha():
            m = _PRE_RESPONSE.search(data)
            if m:
                self.restart(int(m.group(1)) / 1000)
            return
        self._forget()
        if not self.future.done():
            self.future.set_result(data)

    def fail(self, error: Exception) -> None:
        self._forget()
        if not self.future.done():
            self.future.set_exception(error)

    def _forget(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        if self.table.get(self.inbox) is self:
            del self.table[self.inbox]


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
    "Responder",
    "StateHandler",
    "Subscription",
    "call_state_handler",
    "check_payload",
    "reply_of",
]
