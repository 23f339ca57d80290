"""A connection's requests from its client: ``version``, ``subscribe``, ``unsubscribe``, ``get``, ``call``,
``auth`` and ``new``, each answered through the connection's output queue."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from res_protocol import ResError, errors, expand_cid, is_valid_part, is_valid_rid, loads
from res_protocol.version import PROTOCOL_VERSION, V120, parse_version

from .deprecation import warn_once
from .limits import ConnectionLimits
from .metrics import metrics
from .output import NO_RESULT, trace
from .service_client import ServiceReply
from .subscription_graph import SubscriptionGraph

logger = logging.getLogger("res_gateway.connection")


class ClientRequests(SubscriptionGraph):
    """Parses and answers the client's requests, one task each, on the connection's subscriptions."""

    # The connection's, set up by it.
    limits: ConnectionLimits
    _tasks: set[asyncio.Task[Any]]  # the requests being handled

    def receive(self, text: str | bytes) -> None:
        """Handle one client message; requests without a valid id, or after closing, are dropped silently."""
        if self.closed:
            return
        if trace.isEnabledFor(logging.DEBUG):
            trace.debug("ws %s recv %s", self.cid, text)
        try:
            msg = loads(text)
        except ValueError:
            return
        if not isinstance(msg, dict):
            return
        id, method = msg.get("id"), msg.get("method", "")
        if type(id) is not int or id < 0 or id >= 1 << 64 or not isinstance(method, str):
            return
        task = asyncio.ensure_future(self._handle(id, method, msg.get("params")))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, id: int, method: str, params: Any) -> None:
        try:
            with self.limits.request():
                result = await self._dispatch(method, params)
        except ResError as e:
            self._respond_error(id, e)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("error handling %s", method)
            self._respond_error(id, errors.INTERNAL_ERROR)
        else:
            self._respond(id, result)

    async def _dispatch(self, method: str, params: Any) -> Any:
        if "." not in method:
            if method == "version":
                return self._version(params)
            raise errors.INVALID_REQUEST()
        kind, rid = method.split(".", 1)
        name = ""
        if kind in ("call", "auth"):
            rid, _, name = rid.rpartition(".")
            if not rid or not is_valid_part(name):
                raise errors.INVALID_REQUEST()
        if kind not in ("subscribe", "unsubscribe", "get", "call", "auth", "new") or not is_valid_rid(rid):
            raise errors.INVALID_REQUEST()
        metrics.ws_request(kind)
        if kind in ("subscribe", "get") and rid not in self.subs:
            self.limits.new_subscription()
        if kind == "subscribe":
            return await self._subscribe(rid)
        if kind == "get":
            return await self._get(rid)
        if kind == "unsubscribe":
            return self._unsubscribe(rid, params)
        if kind == "call":
            return await self._call(rid, name, params)
        if kind == "auth":
            return await self._resource_result(await self.auth(rid, name, params=params), "auth")
        return await self._new(rid, params)

    def _version(self, params: Any) -> dict[str, str]:
        if params is not None and not isinstance(params, dict):
            raise errors.INVALID_PARAMS()
        protocol = (params or {}).get("protocol")
        if protocol is not None and protocol != "":
            self.protocol = parse_version(protocol)
        return {"protocol": PROTOCOL_VERSION}

    async def _subscribe(self, rid: str, keep: bool = True) -> dict[str, Any]:
        """Subscribe directly (``keep=False``: only for this response, as ``get`` does)."""
        sub = self.subscription(rid)
        self._add_direct(sub)
        try:
            await self._check_get(sub)
            await self.wait_loaded([sub])
            return self.resource_set([sub])
        except BaseException:
            keep = False
            raise
        finally:
            if not keep:
                self._drop_direct(sub)

    async def _get(self, rid: str) -> dict[str, Any]:
        return await self._subscribe(rid, keep=False)

    def _unsubscribe(self, rid: str, params: Any) -> Any:
        count = 1
        if params is not None:
            if not isinstance(params, dict):
                raise errors.INVALID_PARAMS()
            count = params.get("count", 1)
            if type(count) is not int or count <= 0:
                raise errors.INVALID_PARAMS()
        sub = self.subs.get(rid)
        if sub is None or sub.direct < count:
            raise errors.NO_SUBSCRIPTION()
        sub.direct -= count
        self.collect_garbage()
        return NO_RESULT

    async def _call(self, rid: str, method: str, params: Any) -> Any:
        await self._check_call(rid, method)
        return await self._resource_result(await self.call(rid, method, params), "call")

    async def _check_call(self, rid: str, method: str) -> None:
        """Call access: the subscription's cached access, or a one-off access request."""
        sub = self.subs.get(rid)
        if sub is not None and sub.is_loaded:
            access = await sub.get_access()
        else:
            access = await self.request_access(expand_cid(rid, self.cid))
        if not access.can_call(method):
            raise errors.ACCESS_DENIED()

    async def _new(self, rid: str, params: Any) -> Any:
        await self._check_call(rid, "new")
        reply = await self.call(rid, "new", params)
        if reply.error is None and reply.resource is None:
            result = reply.result
            if isinstance(result, dict) and len(result) == 1 and isinstance(result.get("rid"), str):
                if not is_valid_rid(result["rid"]):
                    raise errors.internal_error("invalid resource rid in new response")
                reply.resource = result["rid"]
            else:
                raise errors.internal_error("non-resource response on new request")
        warn_once(rid, "new request")
        return await self._resource_result(reply, "new")

    async def _resource_result(self, reply: ServiceReply, kind: str) -> Any:
        """The client's result for a call/auth/new reply; a resource response is subscribed."""
        if reply.error is not None:
            raise reply.error()
        if reply.resource is None:
            return {"payload": reply.result} if self.protocol >= V120 else reply.result
        rid = reply.resource
        if self.protocol < V120 and kind != "new":
            return {"rid": rid}
        try:
            result = await self._subscribe(rid)
        except ResError as e:
            return {"rid": rid, "errors": {rid: e.to_dict()}}
        return {"rid": rid, **result}
