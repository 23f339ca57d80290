"""A connection's output: one bounded queue of messages for the client, and the write batch of a turn.

Messages go straight to the socket where the server offers a synchronous write (see ``transport.py``),
else the connection's own writer task drains the queue.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from res_protocol import ResError, dumps_str

if TYPE_CHECKING:
    from .gateway import Gateway

logger = logging.getLogger("res_gateway.connection")
trace = logging.getLogger("res_gateway.trace")  # every client message, at debug level (--trace)

Send = Callable[[dict[str, Any]], Awaitable[None]]
NO_RESULT: Any = object()  # a response with no "result" member


class WriteBatch:
    """The connections given messages in this turn of the event loop, flushed together at its end.

    One callback a turn, however many connections an event reaches: a callback per connection would
    also keep a thousand handles alive through the fan-out, for the garbage collector to promote.
    A connection's first message of a turn goes out at once (see :meth:`OutputQueue.write`), so only
    what follows it in the same turn waits for the flush.
    """

    def __init__(self) -> None:
        self._connections: list[OutputQueue] = []

    def add(self, conn: OutputQueue) -> None:
        if not self._connections:
            asyncio.get_running_loop().call_soon(self._flush)
        self._connections.append(conn)

    def _flush(self) -> None:
        connections, self._connections = self._connections, []
        for conn in connections:
            conn.flush()


class OutputQueue:
    """The messages a connection writes to its client: responses and events, in order."""

    # The connection's, set up by it.
    gateway: Gateway
    cid: str
    closed: bool
    close: Callable[[], Awaitable[None]]
    # The queue's own.
    _send: Send | None
    _write_now: Callable[[deque[str]], bool] | None  # the server's synchronous write, where it offers one
    _writing: bool  # the writer task is handing queued messages to the socket
    _flush_scheduled: bool  # in the gateway's write batch for this turn of the event loop
    _out: deque[str] | None  # messages not yet handed to the socket
    _out_limit: int
    _pending: asyncio.Event | None  # set while the writer task has messages to send (made with it)
    _writer: asyncio.Task[None] | None  # started the first time the socket cannot take a write at once

    def write(self, text: str) -> None:
        """Queue a message for the client; one that overflows the queue is disconnected."""
        if self._out is None or self.closed:
            return
        if trace.isEnabledFor(logging.DEBUG):
            trace.debug("ws %s send %s", self.cid, text)
        out = self._out
        if len(out) >= self._out_limit:
            logger.warning("disconnecting %s: send queue full (%d messages)", self.cid, len(out))
            self._out = None
            asyncio.ensure_future(self._disconnect())
            return
        out.append(text)
        if self._write_now is None:
            self._wake_writer()
        elif not self._flush_scheduled:
            # The first message of this turn of the event loop goes at once (a sparse event reaches
            # the first clients without waiting for the last); what follows it, in one write at the end.
            self._flush_scheduled = True
            self.gateway.write_batch.add(self)
            self._write_queued()

    @property
    def backlog(self) -> int:
        """Messages queued for the client and not yet written."""
        return len(self._out) if self._out is not None else 0

    def flush(self) -> None:
        """The end of the turn: write what was queued since the first message."""
        self._flush_scheduled = False
        self._write_queued()

    def _write_queued(self) -> None:
        """Write what is queued straight to the socket if it takes it now; else leave it to the writer."""
        out = self._out
        if not out or self._writing:
            return
        assert self._write_now is not None
        try:
            written = self._write_now(out)
        except Exception:  # one broken socket must not stop the fan-out to the others
            logger.exception("writing to %s", self.cid)
            written = False
        if not written:
            self._wake_writer()

    def _wake_writer(self) -> None:
        """Have the writer task hand the queue to ASGI ``send``; it starts the first time it is needed
        (with a synchronous write, only once the socket could not take a write at once)."""
        if self._pending is None:
            self._pending = asyncio.Event()
            self._writer = asyncio.ensure_future(self._write_loop(self._pending))
        self._pending.set()

    async def _write_loop(self, pending: asyncio.Event) -> None:
        """Hand queued messages to the socket, all that are waiting at each wake-up."""
        assert self._out is not None and self._send is not None
        out, send = self._out, self._send
        try:
            while True:
                await pending.wait()
                self._writing = True
                while out:
                    await send({"type": "websocket.send", "text": out.popleft()})
                self._writing = False
                pending.clear()
        except asyncio.CancelledError:
            raise
        except Exception as e:  # the socket is gone; the consumer closes the connection
            logger.debug("writing to %s: %s", self.cid, e)

    async def _disconnect(self) -> None:
        """Drop the session at once, then ask the server to close the socket (once it drains)."""
        await self.close()
        assert self._send is not None
        try:
            await self._send({"type": "websocket.close", "code": 1008})
        except Exception as e:
            logger.debug("closing %s: %s", self.cid, e)

    def _respond(self, id: int, result: Any = NO_RESULT) -> None:
        self.write(f'{{"id":{id}}}' if result is NO_RESULT else f'{{"result":{dumps_str(result)},"id":{id}}}')

    def _respond_error(self, id: int, error: ResError) -> None:
        self.write(f'{{"error":{dumps_str(error.to_dict())},"id":{id}}}')
