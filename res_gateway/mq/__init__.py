"""The messaging interface the gateway talks through (connect, request, subscribe, publish, close).

Like resgate's ``server/mq``: small enough that the transport can be swapped. :class:`~.nats.NatsClient`
is the real implementation. Requests return the raw reply payload or raise a
:class:`~res_protocol.ResError` (``system.timeout``, ``system.notFound`` for no responders,
``system.subjectTooLong``, ``system.internalError`` while disconnected).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Protocol

from res_protocol import ResError, errors

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


def reply_of(request: asyncio.Future[bytes]) -> bytes | ResError:
    """A finished request's reply payload, or the :class:`ResError` it failed with."""
    if request.cancelled():
        return errors.internal_error("request cancelled")
    error = request.exception()
    if error is None:
        return request.result()
    return error if isinstance(error, ResError) else errors.internal_error(str(error) or type(error).__name__)


class Subscription(Protocol):
    async def unsubscribe(self) -> None: ...


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

    async def subscribe(self, subject: str, handler: MessageHandler) -> Subscription: ...

    async def publish(self, subject: str, payload: bytes) -> None: ...

    async def serve(self, subject: str, responder: Responder) -> Subscription:
        """Answer every request on ``subject`` (to its reply subject) with what ``responder`` returns."""
        ...

    async def close(self) -> None: ...


__all__ = [
    "MAX_SUBJECT_LENGTH",
    "NO_RESPONDERS",
    "MQClient",
    "MessageHandler",
    "NoResponders",
    "Responder",
    "StateHandler",
    "Subscription",
    "reply_of",
]
