"""The Channels glue: a WebSocket consumer feeding client frames to a :class:`Connection`."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from channels.consumer import AsyncConsumer
from channels.exceptions import StopConsumer

from res_protocol import ResError, dumps, errors
from res_protocol.version import LEGACY

from .conf import gateway_settings
from .connection import Connection
from .gateway import get_gateway
from .metrics import metrics
from .output import Send
from .transport import DIRECT_IO, RECEIVE_NOW, WRITE_NOW
from .web.cors import cors
from .web.meta import Meta, merge_header
from .web.paths import rid_to_path
from .web.request import request_info
from .web.status import status_error

Receive = Callable[[], Awaitable[dict[str, Any]]]

logger = logging.getLogger("res_gateway.consumers")


class GatewayConsumer(AsyncConsumer):  # type: ignore[misc]  # Channels has no type hints
    """One RES client over WebSocket; responses and events are written by the connection itself."""

    connection: Connection | None = None
    #: No channel layer: the gateway reaches services over NATS only, and a layer would cost every WebSocket
    #: a receive task (with channels-redis, a Redis poll) that nothing ever sends to.
    channel_layer_alias = None

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        """Channels' set-up without a channel layer, then each message handled in turn as it arrives
        (no task per message: there is only ``receive`` to wait for)."""
        self.scope = scope
        self.channel_layer = None
        self.base_send = send
        try:
            while True:
                await self.dispatch(await receive())
        except StopConsumer:
            pass

    async def dispatch(self, message: dict[str, Any]) -> None:
        # The gateway uses no database: skip Channels' per-message close_old_connections thread hop.
        handler = getattr(self, message["type"].replace(".", "_"), None)
        if handler is not None:
            await handler(message)

    async def websocket_connect(self, message: dict[str, Any]) -> None:
        if self.scope.get("path") != gateway_settings.ws_path:
            await self._deny(404, {"code": "system.notFound", "message": "Not found"})
            return
        info = request_info(self.scope)
        origin = info.header.get("Origin", [None])[0]
        if not cors(origin, gateway_settings.allow_origin, credentials=False).allowed:
            await self._deny(403, {"code": "system.forbidden", "message": "Forbidden origin"})
            return
        direct_io = (self.scope.get("extensions") or {}).get(DIRECT_IO) or {}
        try:
            gateway = get_gateway()
            write_now = direct_io.get(WRITE_NOW)
            conn = Connection(
                gateway, request_info=info, protocol=LEGACY, send=self.base_send, write_now=write_now
            )
            await conn.open()
        except Exception as e:  # stopping, or NATS unreachable: refuse rather than serve a dead session
            if isinstance(e, ResError) and e.code == errors.CODE_SERVICE_UNAVAILABLE:
                await self._deny(503, e.to_dict())
                return
            logger.error("refusing WebSocket connection: %s", e)
            await self.base_send({"type": "websocket.close", "code": 1011})
            return
        headers: list[tuple[bytes, bytes]] = []
        header_auth = gateway_settings.ws_header_auth
        if header_auth is not None:
            denied = await self._header_auth(conn, header_auth, headers)
            if denied:
                await conn.close()
                return
        self.connection = conn
        metrics.ws_connected()
        if RECEIVE_NOW in direct_io:  # before accepting: no message can be queued for the consumer yet
            direct_io[RECEIVE_NOW](conn.receive)
        await self.base_send({"type": "websocket.accept", "headers": headers})

    async def _header_auth(
        self, conn: Connection, header_auth: tuple[str, str], headers: list[tuple[bytes, bytes]]
    ) -> bool:
        """Run ``wsHeaderAuth``; True when its meta status answered the upgrade request instead."""
        rid, method = header_auth
        reply = await conn.auth(rid, method, is_http=True)
        meta = Meta.parse(reply.meta)
        header: dict[str, list[str]] = {}
        merge_header(header, meta.header)
        if meta.is_direct:
            status = meta.status
            assert status is not None
            error: dict[str, Any] | None = None
            if status < 400:
                location = header.get("Location") or [
                    rid_to_path(reply.resource or "", gateway_settings.api_path)
                ]
                header["Location"] = location[:1]
            else:
                error = (reply.error or status_error(status)).to_dict()
            await self._deny(status, error, [(k, v) for k, vs in header.items() for v in vs if v])
            return True
        headers.extend((k.encode(), v.encode()) for k, vs in header.items() for v in vs)
        return False

    async def _deny(
        self, status: int, error: dict[str, Any] | None, headers: list[tuple[str, str]] | None = None
    ) -> None:
        """Refuse the upgrade with an HTTP response where the server supports it, else close."""
        if "websocket.http.response" not in self.scope.get("extensions", {}):
            await self.base_send({"type": "websocket.close", "code": 1008})
            return
        body = dumps(error) if error is not None else b""
        raw = [(k.encode(), str(v).encode()) for k, v in headers or []]
        if error is not None:
            raw.append((b"content-type", b"application/json; charset=utf-8"))
        await self.base_send({"type": "websocket.http.response.start", "status": status, "headers": raw})
        await self.base_send({"type": "websocket.http.response.body", "body": body})

    async def websocket_receive(self, message: dict[str, Any]) -> None:
        if self.connection is not None:
            data = message.get("text")
            self.connection.receive(data if data is not None else message.get("bytes") or b"")

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        if self.connection is not None:
            metrics.ws_disconnected()
            await self.connection.close()
            self.connection = None
        raise StopConsumer()
