"""The nats-py implementation of the messaging interface.

Replies arrive on one muxed inbox subscription (``_INBOX.<nuid>.<n>``). A pre-response
``timeout:"<ms>"`` restarts the request's timer; a no-responders status gives ``system.notFound`` at
once. The connection reconnects forever; while it is down requests fail at once.

Messages of the gateway's subscriptions are handled as nats-py reads them (:class:`_Dispatch`), in the
order the server sent them, without nats-py's task and queue per subscription and, unless they carry
headers, without building nats-py's message object: the gateway holds one subscription per cached
resource name, and its handlers never block.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
from collections.abc import Callable
from typing import Any

from nats import errors as nats_errors
from nats.aio.client import Client, _validate_subject
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.protocol import command as prot_command

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
trace = logging.getLogger("res_gateway.trace")  # every NATS message, at debug level (--trace)


#: Called with a message's subject, reply subject ("" for none), payload and headers (None for none).
RawHandler = Callable[[str, str, bytes, "dict[str, str] | None"], None]


class _Subscription:
    __slots__ = ("_sub",)

    def __init__(self, sub: Subscription) -> None:
        self._sub = sub

    def unsubscribe(self) -> None:
        """Stop handling its messages at once and queue the UNSUB (a closed connection has none left)."""
        sub = self._sub
        if sub._closed:
            return
        sub._closed = True
        sub._stop_processing()
        client: _Client = sub._conn
        client._remove_sub(sub._id)
        if not client.is_closed:  # after a reconnect, an UNSUB of an ID not subscribed again is ignored
            client.queue(prot_command.unsub_cmd(sub._id, 0))


class _Client(Client):
    """nats-py's client, queuing a flush only when none is queued yet (as its ``publish`` does), and
    publishing and subscribing without a coroutine (:meth:`publish_now`, :meth:`subscribe_now`).

    Its own subscribe and unsubscribe are coroutines queuing a flush each: in a storm of subscriptions a
    task per subscription, and a flusher waking thousands of times for what one write sends.
    """

    async def _flush_pending(self, force_flush: bool = False) -> Any:
        queued = self._flush_queue is not None and not self._flush_queue.empty()
        if queued and not force_flush and self._flusher_task is not None and not self._flusher_task.done():
            return None  # the flusher is due to run and writes everything pending
        return await super()._flush_pending(force_flush)

    def publish_now(self, subject: str, payload: bytes, reply: str) -> None:
        """Queue a PUB for the flusher, as ``publish`` does but without awaiting: raises what it raises.

        ``publish`` only awaits to wait for the flusher when more than its pending limit is queued; a
        request's caller waits for the reply anyway.
        """
        if not self._skip_subject_validation:
            _validate_subject(subject)
        if self.is_closed:
            raise nats_errors.ConnectionClosedError()
        if self.is_draining_pubs:
            raise nats_errors.ConnectionDrainingError()
        if len(payload) > self._max_payload:
            raise nats_errors.MaxPayloadError()
        self.stats["out_msgs"] += 1
        self.stats["out_bytes"] += len(payload)
        self.queue(prot_command.pub_cmd(subject, reply, payload))

    def subscribe_now(self, subject: str, handler: RawHandler) -> Subscription:
        """Subscribe, queuing the SUB for the flusher: the server has it before anything sent later.

        Messages go to ``handler`` as they are read (:class:`_Dispatch`), with no task or queue. Raises
        what ``subscribe`` raises.
        """
        if not self._skip_subject_validation:
            _validate_subject(subject, strict=True)
        if self.is_closed:
            raise nats_errors.ConnectionClosedError()
        if self.is_draining:
            raise nats_errors.ConnectionDrainingError()
        self._sid += 1
        sub = Subscription(self, self._sid, subject, pending_bytes_limit=0)  # no limit: nothing is queued
        # nats-py hints an asyncio.Queue; its read loop only calls put_nowait and qsize, as _Dispatch has.
        sub._pending_queue = _Dispatch(handler)  # type: ignore[assignment]
        self._subs[sub._id] = sub
        # Queued in every state, as nats-py's own subscribe does: while reconnecting, nats-py subscribes to
        # everything in its table and then sends what is queued; the server ignores a SUB repeated.
        self.queue(prot_command.sub_cmd(subject, "", sub._id))
        return sub

    async def _process_msg(self, sid: int, subject: bytes, reply: bytes, data: bytes, headers: bytes) -> None:
        """A MSG from the server: straight to the handler of a :meth:`subscribe_now` subscription."""
        sub = self._subs.get(sid)
        dispatch: Any = sub._pending_queue if sub is not None else None
        if headers or type(dispatch) is not _Dispatch:  # a status, or a subscription of nats-py's own
            return await super()._process_msg(sid, subject, reply, data, headers)
        stats = self.stats
        stats["in_msgs"] += 1
        stats["in_bytes"] += len(data)
        dispatch.deliver(subject.decode(), reply.decode(), data, None)

    def queue(self, command: bytes) -> None:
        """Queue a protocol command for the flusher, waking it unless a wake-up is queued already."""
        self._pending.append(command)
        self._pending_data_size += len(command)
        flush_queue, flusher = self._flush_queue, self._flusher_task
        if flush_queue is not None and flush_queue.empty() and flusher is not None and not flusher.done():
            flush_queue.put_nowait(asyncio.get_running_loop().create_future())


class _Dispatch:
    """Takes the place of a nats-py subscription's message queue: each message goes to ``handler`` at once.

    ``_Client._process_msg`` delivers messages without headers; nats-py puts the others on the queue
    (``put_nowait``) from the connection's read loop.
    """

    __slots__ = ("handler",)

    def __init__(self, handler: RawHandler) -> None:
        self.handler = handler

    def put_nowait(self, msg: Msg) -> None:
        self.deliver(msg.subject, msg.reply, msg.data, msg.headers)

    def deliver(self, subject: str, reply: str, data: bytes, headers: dict[str, str] | None) -> None:
        if trace.isEnabledFor(logging.DEBUG):
            trace.debug("nats <- %s: %s", subject, data)
        try:
            self.handler(subject, reply, data, headers)
        except Exception:  # one failed message must not stop nats-py's read loop
            logger.exception("handling a message on %s", subject)

    def qsize(self) -> int:
        return 0

    def empty(self) -> bool:
        return True

    async def join(self) -> None:
        return None


class NatsClient:
    """Messaging over nats-py."""

    def __init__(self, url: str, *, name: str = "django-res gateway", **options: Any) -> None:
        self.url = url
        self.name = name
        self.options = options
        self.on_disconnect: StateHandler | None = None
        self.on_reconnect: StateHandler | None = None
        self.nc = _Client()
        self._inbox = f"_INBOX.{secrets.token_hex(11)}"
        self._ids = itertools.count(1)
        self._pending = PendingRequests()

    @property
    def connected(self) -> bool:
        return self.nc.is_connected

    async def connect(self) -> None:
        """Connect, retrying until the server answers, then keep reconnecting forever."""
        await self.nc.connect(
            self.url,
            name=self.name,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.5,  # type: ignore[arg-type]  # nats-py sleeps for it; its hint says int
            disconnected_cb=self._disconnected,
            reconnected_cb=self._reconnected,
            error_cb=self._error,
            **self.options,
        )
        self.nc.subscribe_now(f"{self._inbox}.*", self._on_reply)

    async def _disconnected(self) -> None:
        if not self.nc.is_closed:  # nats-py calls this on close() too: only a lost connection is news
            logger.warning("disconnected from NATS at %s; reconnecting", self.url)
        self._pending.fail_all(NOT_CONNECTED)
        await call_state_handler(self.on_disconnect)

    async def _reconnected(self) -> None:
        logger.info("reconnected to NATS at %s", self.url)
        await call_state_handler(self.on_reconnect)

    async def _error(self, e: Exception) -> None:
        if self.nc.is_connected:
            logger.error("NATS error: %s", e)
        else:  # not connected yet, or reconnecting: each attempt says so
            logger.warning("NATS at %s is unreachable (%s); retrying", self.url, e)

    def _on_reply(self, subject: str, reply: str, data: bytes, headers: dict[str, str] | None) -> None:
        pending = self._pending.get(subject)
        if pending is None:
            return
        if headers and headers.get("Status") == "503":
            pending.fail(NO_RESPONDERS())
            return
        pending.receive(data)

    def request(self, subject: str, payload: bytes, wait: float) -> asyncio.Future[bytes]:
        """Send a request: the future of the reply's payload, or of a :class:`ResError`.

        No coroutine or task: the request is queued for nats-py's flusher at once. A caller that stops
        waiting (cancelling the future) leaves the request to its timer.
        """
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        inbox = f"{self._inbox}.{next(self._ids)}"
        try:
            if len(subject) + len(inbox) > MAX_SUBJECT_LENGTH:
                raise errors.SUBJECT_TOO_LONG()
            if not self.nc.is_connected:
                raise NOT_CONNECTED()
            check_payload(payload, self.nc.max_payload)
            if trace.isEnabledFor(logging.DEBUG):
                trace.debug("nats -> %s (%s): %s", subject, inbox, payload)
            self.nc.publish_now(subject, payload, inbox)
        except ResError as e:
            future.set_exception(e)
            return future
        except Exception as e:
            logger.error("request %s failed: %s", subject, e)
            future.set_exception(errors.internal_error(str(e) or type(e).__name__))
            return future
        self._pending.add(inbox, future, wait)
        return future

    def subscribe(self, subject: str, handler: MessageHandler) -> _Subscription:
        if len(subject) + 32 > MAX_SUBJECT_LENGTH:  # the server would close the connection
            raise errors.SUBJECT_TOO_LONG()
        return _Subscription(
            self.nc.subscribe_now(subject, lambda subject, reply, data, headers: handler(subject, data))
        )

    async def publish(self, subject: str, payload: bytes) -> None:
        if len(subject) + 32 > MAX_SUBJECT_LENGTH:
            raise errors.SUBJECT_TOO_LONG()
        await self.nc.publish(subject, payload)

    def serve(self, subject: str, responder: Responder) -> _Subscription:
        def answer(subject: str, reply: str, data: bytes, headers: dict[str, str] | None) -> None:
            if reply:  # an exception is logged by _Dispatch, and the subscription goes on
                self.nc.publish_now(reply, responder(data), "")

        return _Subscription(self.nc.subscribe_now(subject, answer))

    async def close(self) -> None:
        if not self.nc.is_closed:
            connected = self.nc.is_connected
            try:
                await asyncio.wait_for(self.nc.close(), 3)
            except Exception as e:  # without a connection there is nothing to close cleanly
                logger.log(logging.WARNING if connected else logging.DEBUG, "closing NATS: %s", e)


async def connect(url: str, **options: Any) -> NatsClient:
    """A connected :class:`NatsClient`."""
    client = NatsClient(url, **options)
    await client.connect()
    return client


__all__ = ["NatsClient", "connect"]
