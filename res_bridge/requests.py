"""The request a handler receives: one RES get, access, call or auth request from NATS.

Handlers (call methods, ``res_bridge.auth.handle``, the access policy and ``has_access``) read the fields
and may queue messages that must reach NATS before the reply (a token event). The service sends
:attr:`Request.outbox` in order, then the reply, on the same connection.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from res_protocol import check_depth, dumps, errors, join_rid, loads


@dataclass(frozen=True, slots=True)
class ResourceResponse:
    """Return this from a call or auth handler to reply with a resource response ``{"rid": ...}``."""

    rid: str


@dataclass(eq=False)
class Request:
    """One request received from a gateway.

    ``kind`` is ``get``, ``access``, ``call``, ``auth`` or ``query``; ``resource_name`` never
    holds the query, ``rid`` is name and query together. ``token`` and ``params`` are ``None``
    when absent (resgate sends ``null`` for both). ``header`` maps canonical header names to
    lists of values, as resgate forwards them.
    """

    kind: str
    resource_name: str
    method: str = ""
    query: str = ""
    cid: str = ""
    token: Any = None
    params: Any = None
    header: dict[str, list[str]] = field(default_factory=dict)
    host: str = ""
    remote_addr: str = ""
    uri: str = ""
    is_http: bool = False
    outbox: list[tuple[str, bytes]] = field(default_factory=list, repr=False)
    meta: dict[str, Any] | None = field(default=None, repr=False)
    path_params: dict[str, str] = field(default_factory=dict, repr=False)
    send_now: Callable[[bytes], None] | None = field(default=None, repr=False)

    @property
    def rid(self) -> str:
        return join_rid(self.resource_name, self.query)

    @classmethod
    def made_for(cls, user: Any, kind: str, resource_name: str, query: str = "") -> Request:
        """A request of ``user`` that no gateway sent (``manage.py resaccess``, the admin's simulator)."""
        request = cls(kind, resource_name, query=query)
        request._user = user
        return request

    @classmethod
    def from_payload(cls, kind: str, resource_name: str, method: str, payload: bytes) -> Request:
        """Decode a request payload; invalid JSON raises ``system.internalError``, params nested too deep
        ``system.invalidParams``."""
        try:
            data = loads(payload) if payload else {}
        except ValueError as e:
            raise errors.internal_error(f"invalid request payload: {e}")
        if not isinstance(data, dict):
            raise errors.internal_error("request payload is not an object")
        check_depth(data.get("params"))
        header = data.get("header")
        return cls(
            kind=kind,
            resource_name=resource_name,
            method=method,
            query=_text(data.get("query")),
            cid=_text(data.get("cid")),
            token=data.get("token"),
            params=data.get("params"),
            header=header if isinstance(header, dict) else {},
            host=_text(data.get("host")),
            remote_addr=_text(data.get("remoteAddr")),
            uri=_text(data.get("uri")),
            is_http=data.get("isHttp") is True,
        )

    def set_token(self, token: Any, tid: str | None = None) -> None:
        """Set the connection's token: ``conn.<cid>.token`` goes out before the reply."""
        if not self.cid:
            raise errors.internal_error("no connection to set a token on")
        payload: dict[str, Any] = {"token": token}
        if tid is not None:
            payload["tid"] = tid
        self.outbox.append((f"conn.{self.cid}.token", dumps(payload)))

    def set_meta(self, status: int | None = None, header: dict[str, list[str]] | None = None) -> None:
        """Attach meta (an HTTP status and headers) to the reply; gateways honour it only for HTTP."""
        meta = self.meta or {}
        if status is not None:
            meta["status"] = status
        if header:
            merged = meta.setdefault("header", {})
            for key, values in header.items():
                merged[key] = [*merged.get(key, []), *values] if key == "Set-Cookie" else list(values)
        self.meta = meta

    def timeout(self, seconds: float) -> None:
        """Ask the gateway to wait ``seconds`` (from now) for the reply: a pre-response, sent at once."""
        if self.send_now is None:
            raise errors.internal_error("no reply subject to extend")
        self.send_now(f'timeout:"{round(seconds * 1000)}"'.encode())

    @property
    def reply_meta(self) -> dict[str, Any] | None:
        """The meta to send: only when the gateway will honour it."""
        return self.meta if self.is_http and self.meta else None

    @property
    def user(self) -> Any:
        """The Django user of the token (anonymous without one), resolved once by ``res_bridge.tokens``."""
        if not hasattr(self, "_user"):
            from res_bridge.tokens import user_from_token

            self._user = user_from_token(self.token)
        return self._user


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""
