"""A connection's requests to services: access, call and auth, each carrying the connection's cid and token.

The WebSocket requests use them, and so do the HTTP views, on a connection with no client to write to.
"""

from __future__ import annotations

import asyncio
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
from .mq import reply_of
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


def service_reply(subject: str, reply: bytes | ResError, resource: bool) -> ServiceReply:
    """The reply to a request on ``subject`` (a resource allowed when ``resource``), or its failure."""
    if isinstance(reply, ResError):
        return ServiceReply(error=reply)
    response = decode_response(reply, allow_resource=resource)
    if response.error is not None and response.error.code == errors.CODE_INTERNAL_ERROR:
        logger.error("%s: %s", subject, response.error.message)
    return ServiceReply(response.result, response.resource, response.error, response.meta)


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
            reply: bytes | ResError = await self.gateway.cache.request(name, subject, payload)
        except ResError as e:
            reply = e
        return service_reply(subject, reply, resource)

    async def access(self, rid: str, *, is_http: bool = False) -> ServiceReply:
        """A raw, uncached access request for ``rid``."""
        name, query = split_rid(expand_cid(rid, self.cid))
        return await self._service_request(name, f"access.{name}", self._payload(query, is_http), False)

    def request_access(self, cache_rid: str) -> asyncio.Future[Access]:
        """Access for an (expanded) rid: its future, failing with the service's error. No task."""
        name, query = split_rid(cache_rid)
        subject = f"access.{name}"
        access: asyncio.Future[Access] = asyncio.get_running_loop().create_future()

        def replied(request: asyncio.Future[bytes]) -> None:
            reply = service_reply(subject, reply_of(request), False)
            try:
                if reply.error is not None:
                    raise reply.error()
                access.set_result(Access.from_result(reply.result))
            except ResError as e:
                access.set_exception(e)

        self.gateway.cache.request(name, subject, self._payload(query, False)).add_done_callback(replied)
        return access

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
