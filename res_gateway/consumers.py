"""The Channels glue: a WebSocket consumer feeding client frames to a :class:`Connection`."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from channels.consumer import AsyncConsumer
from channels.exceptions import StopConsumer

from res_protocol import ResError, dumps

from .conf import gateway_settings
from .connection import LEGACY, Connection, RequestInfo
from .gateway import get_gateway
from .metrics import metrics

logger = logging.getLogger("res_gateway.consumers")

#: Headers a service's meta may not set on the upgrade response.
PROTECTED_HEADERS = frozenset(
    {
        "sec-websocket-extensions",
        "sec-websocket-protocol",
        "access-control-allow-credentials",
        "access-control-allow-origin",
        "content-type",
    }
)


def canonical_header_key(key: str) -> str:
    """``x-forwarded-for`` as ``X-Forwarded-For`` (Go's canonical MIME header key)."""
    return "-".join(part[:1].upper() + part[1:].lower() for part in key.split("-"))


def request_info(scope: dict[str, Any]) -> RequestInfo:
    """The upgrade request as auth requests describe it."""
    header: dict[str, list[str]] = {}
    for name, value in scope.get("headers", []):
        header.setdefault(canonical_header_key(name.decode("latin-1")), []).append(value.decode("latin-1"))
    host = header.get("Host", [""])[0]
    client = scope.get("client") or ("", 0)
    uri = scope.get("raw_path", scope.get("path", "").encode()).decode("latin-1")
    if scope.get("query_string"):
        uri += "?" + scope["query_string"].decode("latin-1")
    return RequestInfo(header=header, host=host, remote_addr=f"{client[0]}:{client[1]}", uri=uri)


def origin_allowed(origin: str | None, allowed: list[str]) -> bool:
    """A missing or ``null`` origin is always allowed; otherwise scheme, host and port must match."""
    if origin is None or origin == "null" or allowed == ["*"]:
        return True
    parts = urlsplit(origin.lower())
    return f"{parts.scheme}://{parts.netloc}" in allowed


class GatewayConsumer(AsyncConsumer):
    """One RES client over WebSocket; responses and events are written by the connection itself."""

    connection: Connection | None = None

    async def dispatch(self, message: dict[str, Any]) -> None:
        # The gateway uses no database: skip Channels' per-message close_old_connections thread hop.
        handler = getattr(self, message["type"].replace(".", "_"), None)
        if handler is not None:
            await handler(message)

    async def websocket_connect(self, message: dict[str, Any]) -> None:
        info = request_info(self.scope)
        origin = info.header.get("Origin", [None])[0]
        if not origin_allowed(origin, gateway_settings.allow_origin):
            await self._deny(403, {"code": "system.forbidden", "message": "Forbidden origin"})
            return
        try:
            gateway = get_gateway()
            conn = Connection(gateway, request_info=info, protocol=LEGACY, send=self.base_send)
            await conn.open()
        except ResError as e:
            logger.error("refusing WebSocket connection: %s", e)
            await self.base_send({"type": "websocket.close", "code": 1011})
            return
        headers: list[tuple[bytes, bytes]] = []
        if gateway_settings.ws_header_auth is not None:
            denied = await self._header_auth(conn, headers)
            if denied:
                await conn.close()
                return
        self.connection = conn
        metrics.ws_connected()
        await self.base_send({"type": "websocket.accept", "headers": headers})

    async def _header_auth(self, conn: Connection, headers: list[tuple[bytes, bytes]]) -> bool:
        """Run ``wsHeaderAuth``; True when the meta status refuses the upgrade."""
        rid, method = gateway_settings.ws_header_auth
        reply = await conn.auth(rid, method, is_http=True)
        meta = reply.meta or {}
        status = meta.get("status")
        header = meta.get("header") if isinstance(meta.get("header"), dict) else {}
        if isinstance(status, int) and 300 <= status < 600:
            extra = [(k, v) for k, vs in header.items() if isinstance(vs, list) for v in vs]
            if status < 400:
                location = header.get("Location") or (
                    [f"/{reply.resource.replace('.', '/')}"] if reply.resource else []
                )
                extra = [(k, v) for k, v in extra if k != "Location"] + [
                    ("Location", v) for v in location[:1]
                ]
                await self._deny(status, None, extra)
            else:
                error = (
                    reply.error.to_dict() if reply.error else {"code": "system.internalError", "message": ""}
                )
                await self._deny(status, error, extra)
            return True
        for key, values in header.items():
            if canonical_header_key(key).lower() in PROTECTED_HEADERS or not isinstance(values, list):
                continue
            headers.extend((canonical_header_key(key).encode(), str(v).encode()) for v in values)
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
