"""A connection's requests to services: access, call and auth, each carrying the connection's cid and token.

The WebSocket requests use them, and so do the HTTP views, on a connection with no client to write to.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from res_protocol import (
    Access,
    ResError,
    decode_response,
    dumps,
    errors,
    expand_cid,
    split_rid,
)

from .conf import gateway_settings
from .limits import check_params
from .web.request import RequestInfo

if TYPE_CHECKING:
    from .gateway import Gateway

logger = logging.getLogger("res_gateway.connection")

_OMITTED: Any = object()


@dataclass
class ServiceReply:
    """One service reply: a result, a resource (rid) or an error, plus meta."""

    result: Any = None
    resource: str | None = None
    error: ResError | None = None
    meta: dict[str, Any] | None = None


class ServiceClient:
    """Requests to services on behalf of one connection."""

    # The connection's, set up by it.
    gateway: Gateway
    cid: str
    token: Any
    request_info: RequestInfo

    def _payload(self, query: str, is_http: bool, **extra: Any) -> bytes:
        check_params(extra.get("params"))
        payload: dict[str, Any] = {"cid": self.cid, "token": self.token, **extra}
        if query:
            payload["query"] = query
        if is_http:
            payload["isHttp"] = True
        return dumps(payload)

    async def _service_request(self, name: str, subject: str, payload: bytes, resource: bool) -> ServiceReply:
        try:
            reply = await self.gateway.cache.request(name, subject, payload)
        except ResError as e:
            return ServiceReply(error=e)
        response = decode_response(reply, allow_resource=resource)
        if response.error is not None and response.error.code == errors.CODE_INTERNAL_ERROR:
            logger.error("%s: %s", subject, response.error.message)
        return ServiceReply(response.result, response.resource, response.error, response.meta)

    async def access(self, rid: str, *, is_http: bool = False) -> ServiceReply:
        """A raw, uncached access request for ``rid``."""
        name, query = split_rid(expand_cid(rid, self.cid))
        return await self._service_request(name, f"access.{name}", self._payload(query, is_http), False)

    async def request_access(self, cache_rid: str) -> Access:
        """Access for an (expanded) rid; raises the service's error."""
        name, query = split_rid(cache_rid)
        reply = await self._service_request(name, f"access.{name}", self._payload(query, False), False)
        if reply.error is not None:
            raise reply.error()
        return Access.from_result(reply.result)

    async def call(self, rid: str, method: str, params: Any, *, is_http: bool = False) -> ServiceReply:
        """A raw call request (no access check)."""
        name, query = split_rid(expand_cid(rid, self.cid))
        payload = self._payload(query, is_http, params=params)
        return await self._service_request(name, f"call.{name}.{method}", payload, True)

    async def auth(
        self, rid: str, method: str, *, params: Any = _OMITTED, is_http: bool = False
    ) -> ServiceReply:
        """An auth request carrying the request info; a token event sent before the reply is applied."""
        name, query = split_rid(expand_cid(rid, self.cid))
        payload = self._payload(query, is_http, **self._auth_fields(params))
        return await self._service_request(name, f"auth.{name}.{method}", payload, True)

    def _auth_fields(self, params: Any = _OMITTED) -> dict[str, Any]:
        info = self.request_info
        fields: dict[str, Any] = {} if params is _OMITTED else {"params": params}
        # As resgate: each field only when it is not empty.
        for key, value in (
            ("header", info.header),
            ("host", info.host),
            ("remoteAddr", info.remote_addr),
            ("uri", info.uri),
        ):
            if value:
                fields[key] = value
        return fields

    async def token_reset(self, subject: str) -> None:
        """Ask ``subject`` to renew this connection's token (``system.tokenReset``); the reply is ignored."""
        payload = dumps({"cid": self.cid, "token": self.token, **self._auth_fields()})
        try:
            await self.gateway.mq.request(subject, payload, gateway_settings.request_timeout)
        except ResError as e:
            if e.code == errors.CODE_TIMEOUT:
                logger.error("token reset request %s for %s timed out", subject, self.cid)
