"""uvicorn's sans-I/O WebSocket protocol, plus synchronous writes and reads for RES sessions.

Through ASGI, every message to every client is an awaited ``send``: one task switch per message and
socket. The fan-out writes most messages to sockets that can take them at once, so the protocol offers
the connection a plain function in the scope's extensions (:data:`WRITE_NOW`): it writes the messages
queued for the client in one write and returns True when the socket is writable, and returns False
(nothing written) otherwise, when the connection falls back to its writer task and ASGI ``send``.

The other way, each client message would wait in a queue for the application's ``receive``, with reading
paused until it is taken. A session that handles messages as they come registers a handler through
:data:`RECEIVE_NOW` before it accepts the socket; from then on, complete messages go straight to it.
Both functions are in the scope's :data:`DIRECT_IO` extension.

A server's text frame is the same bytes for every client without compression, so an event reaching
many clients is framed once (:func:`text_frame`) and those bytes are written to each socket.
"""

from __future__ import annotations

import functools
import struct
from collections import deque
from collections.abc import Callable
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.protocol import State

DIRECT_IO = "res.direct_io"  # the scope extension: {WRITE_NOW: function, RECEIVE_NOW: function}
WRITE_NOW = "write_now"
RECEIVE_NOW = "receive_now"

Receiver = Callable[[str | bytes], None]

#: Frames of texts up to this length are kept for the next sockets; longer ones are built per socket.
SHARED_FRAME_SIZE = 16384


def _frame(payload: bytes) -> bytes:
    """A final, unmasked text frame (RFC 6455 section 5.2)."""
    length = len(payload)
    if length < 126:
        head = struct.pack("!BB", 0x81, length)
    elif length < 65536:
        head = struct.pack("!BBH", 0x81, 126, length)
    else:
        head = struct.pack("!BBQ", 0x81, 127, length)
    return head + payload


@functools.lru_cache(maxsize=256)
def _shared_frame(text: str) -> bytes:
    return _frame(text.encode())


def text_frame(text: str) -> bytes:
    """The frame of ``text``, built once for the many sockets a short message goes to."""
    return _shared_frame(text) if len(text) <= SHARED_FRAME_SIZE else _frame(text.encode())


class FanOutWebSocketProtocol(WebSocketsSansIOProtocol):
    receiver: Receiver | None = None

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)  # builds the scope and schedules the application
        self.scope["extensions"][DIRECT_IO] = {WRITE_NOW: self.write_now, RECEIVE_NOW: self.receive_now}

    async def send(self, message: Any) -> None:
        await super().send(message)
        if self.handshake_complete:  # the upgrade request and response are read no more: free them
            self.request = self.response = None  # type: ignore[assignment]

    def receive_now(self, receiver: Receiver) -> None:
        """Hand every later message to ``receiver`` as it completes, instead of to the application."""
        self.receiver = receiver

    def send_receive_event_to_app(self) -> None:
        receiver = self.receiver
        if receiver is None or self.close_sent:
            return super().send_receive_event_to_app()
        raw = self.frames[0] if len(self.frames) == 1 else b"".join(self.frames)
        data: str | bytes = raw
        if self.curr_msg_data_type == "text":
            try:
                data = raw.decode()
            except UnicodeDecodeError:
                return super().send_receive_event_to_app()  # uvicorn closes with 1007
        self.frames = []
        receiver(data)

    def write_now(self, texts: deque[str]) -> bool:
        """Write the queued text messages (emptying ``texts``) if the socket takes them now, in one write."""
        conn = self.conn  # OPEN: accepted, and no close frame sent or received
        if (
            conn.state is not State.OPEN
            or self.disconnected
            or not self.writable.is_set()
            or self.transport.is_closing()
        ):
            return False
        if conn.extensions:  # permessage-deflate: each socket compresses with its own context
            for text in texts:
                conn.send_text(text.encode())
            data = conn.data_to_send()
        else:
            data = conn.data_to_send()  # anything websockets queued itself goes first
            data.extend(map(text_frame, texts))
        texts.clear()
        self.transport.write(data[0] if len(data) == 1 else b"".join(data))
        return True


class _Collected:
    """Stands in for a socket transport while uvicorn handles one ASGI message: keeps what it writes."""

    __slots__ = ("closed", "data")

    def __init__(self) -> None:
        self.data: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.data.append(data)

    def close(self) -> None:
        self.closed = True


class OneWriteCycle(RequestResponseCycle):
    """uvicorn's request-response cycle writing a response's head together with the message after it.

    uvicorn writes the status line and headers on ``http.response.start`` and the body on
    ``http.response.body``: two system calls and two packets for a response whose body follows at once,
    as every API response's does. The head is held until the next message is sent (a ``HEAD`` request's
    body writes nothing, so its head is not held).
    """

    head = b""

    async def send(self, message: Any) -> None:
        starting = message["type"] == "http.response.start" and self.scope["method"] != "HEAD"
        if not starting and not self.head:
            return await super().send(message)
        transport = self.transport
        self.transport = collected = _Collected()  # type: ignore[assignment]
        try:
            await super().send(message)
        finally:
            self.transport = transport
            data = b"".join([self.head, *collected.data])
            self.head = b""
            if starting and not collected.closed:
                self.head = data
            else:
                if data:
                    transport.write(data)
                if collected.closed:
                    transport.close()


class OneWriteHttpProtocol(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol (httptools) with :class:`OneWriteCycle` for every request."""

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: Any) -> None:
        cycle.__class__ = OneWriteCycle  # the cycle uvicorn built, with the send above
        super()._start_asgi_task(cycle, app)
