"""uvicorn's sans-I/O WebSocket protocol, plus a synchronous write for the event fan-out.

Through ASGI, every message to every client is an awaited ``send``: one task switch per message and
socket. The fan-out writes most messages to sockets that can take them at once, so the protocol offers
the connection a plain function in the scope's extensions (:data:`WRITE_NOW`): it writes the messages
queued for the client in one write and returns True when the socket is writable, and returns False
(nothing written) otherwise, when the connection falls back to its writer task and ASGI ``send``.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

WRITE_NOW = "res.write_now"


class FanOutWebSocketProtocol(WebSocketsSansIOProtocol):
    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)  # builds the scope and schedules the application
        self.scope["extensions"][WRITE_NOW] = self.write_now

    def write_now(self, texts: deque[str]) -> bool:
        """Write the queued text messages (emptying ``texts``) if the socket takes them now, in one write."""
        if (
            not self.handshake_complete
            or self.initial_response is not None
            or self.close_sent
            or self.disconnected
            or not self.writable.is_set()
            or self.transport.is_closing()
        ):
            return False
        send_text = self.conn.send_text
        while texts:
            send_text(texts.popleft().encode())
        self.transport.write(b"".join(self.conn.data_to_send()))
        return True
