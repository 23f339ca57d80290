"""A connection's requests from its client: ``version``, ``subscribe``, ``unsubscribe``, ``get``, ``call``,
``auth`` and ``new``, each answered through the connection's output queue."""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any

from res_protocol import Access, ResError, errors, expand_cid, is_valid_part, is_valid_rid, loads
from res_protocol.version import PROTOCOL_VERSION, V120, parse_version

from .deprecation import warn_once
from .limits import ConnectionLimits
from .metrics import metrics
from .output import NO_RESULT, trace
from .service_client import ServiceReply
from .subscription import Subscription
from .subscription_graph import SubscriptionGraph

logger = logging.getLogger("res_gateway.connection")


class ClientRequests(SubscriptionGraph):
    """Parses and answers the client's requests on the connection's subscriptions; a task only for those
    calling a service."""

    # The connection's, set up by it.
    limits: ConnectionLimits
    _tasks: set[asyncio.Task[Any]]  # the requests being handled

    def receive(self, text: str | bytes) -> None:
        """Handle one client message; requests without a valid id, or after closing, are dropped silently.

        A request answered from what the gateway holds (a version, an unsubscribe, a subscribe or get of
        cached resources with cached access, an invalid request) is answered at once; the others when
        their replies are in, without a task unless they call a service (call, auth, new).
        """
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
        try:
            self.limits.enter()
        except ResError as e:
            self._respond_error(id, e)
            return
        try:
            answer = self._dispatch(method, msg.get("params"))
        except Exception as e:
            self._answer(id, e)
            return
        if not isinstance(answer, asyncio.Future):
            self._answer(id, answer)
        elif answer.done():
            self._answered(id, answer)
        else:
            answer.add_done_callback(functools.partial(self._answered, id))

    def _answered(self, id: int, answer: asyncio.Future[Any]) -> None:
        if answer.cancelled():  # the connection closed: nobody to answer
            self.limits.leave()
            return
        self._answer(id, answer.exception() or answer.result())

    def _answer(self, id: int, result: Any) -> None:
        """Respond with a request's result or error, and free its place among the requests in flight."""
        self.limits.leave()
        if isinstance(result, ResError):
            self._respond_error(id, result)
        elif isinstance(result, Exception):
            logger.error("error handling a request", exc_info=result)
            self._respond_error(id, errors.INTERNAL_ERROR)
        else:
            self._respond(id, result)

    def _dispatch(self, method: str, params: Any) -> Any:
        """The request's result, or the future of it."""
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
            return self._subscribing(rid)
        if kind == "get":
            return self._subscribing(rid, keep=False)
        if kind == "unsubscribe":
            return self._unsubscribe(rid, params)
        if kind == "call":
            request = self._call(rid, name, params)
        elif kind == "auth":
            request = self._auth(rid, name, params)
        else:
            request = self._new(rid, params)
        task = asyncio.ensure_future(request)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _version(self, params: Any) -> dict[str, str]:
        if params is not None and not isinstance(params, dict):
            raise errors.INVALID_PARAMS()
        protocol = (params or {}).get("protocol")
        if protocol is not None and protocol != "":
            self.protocol = parse_version(protocol)
        return {"protocol": PROTOCOL_VERSION}

    def _subscribing(self, rid: str, keep: bool = True) -> asyncio.Future[dict[str, Any]]:
        """Subscribe directly (``keep=False``: only for this response, as ``get`` does): the future of the
        resources the client lacks, done at once when the access and the resources are cached."""
        sub = self.subscription(rid)
        self._add_direct(sub)
        return _Subscribing(self, sub, keep).outcome

    async def _subscribe(self, rid: str) -> dict[str, Any]:
        return await self._subscribing(rid)

    async def _auth(self, rid: str, method: str, params: Any) -> Any:
        return await self._resource_result(await self.auth(rid, method, params=params), "auth")

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


class _Subscribing:
    """One direct subscription being answered: the future of the resources the client lacks, completed by
    callbacks (access first, sent in parallel with the get; then the get's own error; then references)."""

    __slots__ = ("access", "conn", "dropped", "keep", "outcome", "sub")

    def __init__(self, conn: ClientRequests, sub: Subscription, keep: bool) -> None:
        self.conn, self.sub, self.keep = conn, sub, keep
        self.dropped = False
        self.access: Access | None = None
        self.outcome: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.outcome.add_done_callback(self._cancelled)
        try:
            access = sub.cached_access()
        except ResError as e:
            self._fail(e)
            return
        if access is not None:
            self._granted(access)
        else:
            sub.access_request().add_done_callback(self._replied)

    def _drop(self) -> None:
        if not self.dropped:
            self.dropped = True
            self.conn._drop_direct(self.sub)

    def _fail(self, error: BaseException) -> None:
        self._drop()
        if not self.outcome.done():
            self.outcome.set_exception(error)

    def _replied(self, request: asyncio.Future[Access]) -> None:
        error = request.exception()
        if error is not None:
            self._fail(error)
        else:
            self._granted(request.result())

    def _granted(self, access: Access) -> None:
        outcome, sub = self.outcome, self.sub
        if outcome.done():
            return
        try:
            if not access.get:
                raise errors.ACCESS_DENIED()
            waiting = sub if sub.loading is not None else None
            if waiting is None:
                if sub.error is not None:
                    raise sub.error()
                waiting = self.conn.loading_reachable([sub])
            if waiting is not None:
                assert waiting.loading is not None
                self.access = access
                waiting.loading.add_done_callback(self._loaded)
                return
            result = self.conn.resource_set([sub])
        except Exception as e:
            self._fail(e)
            return
        if not self.keep:
            self._drop()
        outcome.set_result(result)

    def _loaded(self, _: object) -> None:
        """A resource being loaded is in: look again, with the access granted."""
        assert self.access is not None
        self._granted(self.access)

    def _cancelled(self, outcome: asyncio.Future[dict[str, Any]]) -> None:
        if outcome.cancelled():  # its awaiter was cancelled: the subscription is not kept
            self._drop()
