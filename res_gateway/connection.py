"""One client's RES session, independent of the transport (no Channels here).

A :class:`Connection` parses client requests (``version``, ``subscribe``, ``unsubscribe``, ``get``,
``call``, ``auth``, ``new``), keeps the client's subscriptions and token, and writes responses and events
through one bounded queue: straight to the socket where the server offers a synchronous write (see
``transport.py``), else drained by the connection's own writer task. The HTTP views use the same class
with no ``send``, through :meth:`Connection.access`, :meth:`~Connection.load`, :meth:`~Connection.call`
and :meth:`~Connection.auth`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from res_protocol import (
    Access,
    ResError,
    decode_response,
    dumps,
    dumps_str,
    errors,
    expand_cid,
    is_valid_part,
    is_valid_rid,
    loads,
    split_rid,
)

from .cache import MODERN, client_collection, client_values
from .conf import gateway_settings
from .deprecation import warn_once
from .limits import ConnectionLimits, check_params
from .metrics import metrics
from .subscription import Subscription, references

if TYPE_CHECKING:
    from .gateway import Gateway

logger = logging.getLogger("res_gateway.connection")
trace = logging.getLogger("res_gateway.trace")  # every client message, at debug level (--trace)

LEGACY = 1001001  # clients that sent no version (1.1.1)
_VERSION_PART = re.compile(r"[+-]?[0-9]+")
V120 = 1002000  # call/auth results wrapped as {"payload"} or resource responses
LATEST = 1002003
PROTOCOL = "1.2.3"

Send = Callable[[dict[str, Any]], Awaitable[None]]
_OMITTED: Any = object()
_NO_RESULT: Any = object()


@dataclass
class RequestInfo:
    """The HTTP request (or WebSocket upgrade request) behind a connection, for auth requests."""

    header: dict[str, list[str]] = field(default_factory=dict)
    host: str = ""
    remote_addr: str = ""
    uri: str = ""


@dataclass
class ServiceReply:
    """One service reply: a result, a resource (rid) or an error, plus meta."""

    result: Any = None
    resource: str | None = None
    error: ResError | None = None
    meta: dict[str, Any] | None = None


@dataclass
class Resource:
    kind: str  # "model" or "collection"
    value: dict[str, Any] | list[Any]


@dataclass
class ResourceTree:
    rid: str
    resources: dict[str, Resource]
    errors: dict[str, ResError]


def new_cid() -> str:
    return secrets.token_hex(10)


def parse_version(protocol: Any) -> int:
    """``"1.2.3"`` as 1002003; raises invalidParams or unsupportedProtocol, as resgate does.

    Each part is a decimal integer below 1000, optionally signed (as Go's ``strconv.Atoi`` reads it).
    """
    parts = protocol.split(".") if isinstance(protocol, str) else []
    if len(parts) != 3 or not all(_VERSION_PART.fullmatch(p) and int(p) < 1000 for p in parts):
        raise errors.INVALID_PARAMS()
    version = int(parts[0]) * 1_000_000 + int(parts[1]) * 1000 + int(parts[2])
    if not 1_000_000 <= version < 2_000_000:
        raise errors.UNSUPPORTED_PROTOCOL()
    return version


class WriteBatch:
    """The connections given messages in this turn of the event loop, flushed together at its end.

    One callback a turn, however many connections an event reaches: a callback per connection would
    also keep a thousand handles alive through the fan-out, for the garbage collector to promote.
    A connection's first message of a turn goes out at once (see :meth:`Connection.write`), so only
    what follows it in the same turn waits for the flush.
    """

    def __init__(self) -> None:
        self._connections: list[Connection] = []

    def add(self, conn: Connection) -> None:
        if not self._connections:
            asyncio.get_running_loop().call_soon(self._flush)
        self._connections.append(conn)

    def _flush(self) -> None:
        connections, self._connections = self._connections, []
        for conn in connections:
            conn.flush()


class Connection:
    """One client session: requests, subscriptions, token and the events it receives."""

    def __init__(
        self,
        gateway: Gateway,
        *,
        request_info: RequestInfo | None = None,
        protocol: int = LATEST,
        send: Send | None = None,
        write_now: Callable[[deque[str]], bool] | None = None,
    ) -> None:
        self.gateway = gateway
        self.request_info = request_info or RequestInfo()
        self.protocol = protocol
        self.cid = new_cid()
        self.token: Any = None
        self.tid: str | None = None
        self.token_generation = 0
        self.subs: dict[str, Subscription] = {}
        self.closed = False
        self._send = send
        self._write_now = write_now  # the server's synchronous write, where it offers one
        self._writing = False  # the writer task is handing queued messages to the socket
        self._flush_scheduled = False  # in the gateway's write batch for this turn of the event loop
        self._out: deque[str] | None = None  # messages not yet handed to the socket
        self._pending = asyncio.Event()  # set while _out has messages
        self._writer: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._conn_sub: Any = None
        throttle = gateway_settings.reference_throttle
        # referenceThrottle: resources this connection loads at once
        self.load_limit: Any = asyncio.Semaphore(throttle) if throttle else contextlib.nullcontext()
        self.limits = ConnectionLimits.from_settings()

    @property
    def modern(self) -> bool:
        return self.protocol >= MODERN

    # --- lifecycle ----------------------------------------------------------------------------------

    async def open(self) -> Connection:
        """Register with the gateway and listen to ``conn.<cid>.*``."""
        await self.gateway.ready()
        if self._send is not None:
            self._out = deque()
            self._out_limit = gateway_settings.send_queue_size
            self._writer = asyncio.ensure_future(self._write_loop())
        self._conn_sub = await self.gateway.mq.subscribe(f"conn.{self.cid}.*", self._on_conn_message)
        self.gateway.connections[self.cid] = self
        return self

    async def close(self) -> None:
        """Dispose of every subscription and stop listening; nothing of the session is kept."""
        if self.closed:
            return
        self.closed = True
        self.gateway.connections.pop(self.cid, None)
        for task in list(self._tasks):
            task.cancel()
        for sub in self.subs.values():
            sub.dispose()
        self.subs.clear()
        if self._conn_sub is not None:
            await self._conn_sub.unsubscribe()
        if self._writer is not None:
            self._writer.cancel()

    async def __aenter__(self) -> Connection:
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- output -------------------------------------------------------------------------------------

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
            self._pending.set()
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
            self._pending.set()

    async def _write_loop(self) -> None:
        """Hand queued messages to the socket, all that are waiting at each wake-up."""
        assert self._out is not None and self._send is not None
        out, send, pending = self._out, self._send, self._pending
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

    def _respond(self, id: int, result: Any = _NO_RESULT) -> None:
        self.write(
            f'{{"id":{id}}}' if result is _NO_RESULT else f'{{"result":{dumps_str(result)},"id":{id}}}'
        )

    def _respond_error(self, id: int, error: ResError) -> None:
        self.write(f'{{"error":{dumps_str(error.to_dict())},"id":{id}}}')

    # --- requests from the client -------------------------------------------------------------------

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
        return {"protocol": PROTOCOL}

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
        return _NO_RESULT

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

    async def _new(self, rid: str, params: Any) -> dict[str, Any]:
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

    # --- subscriptions ------------------------------------------------------------------------------

    def subscription(self, rid: str) -> Subscription:
        """The client's subscription for ``rid`` (created when missing; reloaded after delete)."""
        sub = self.subs.get(rid)
        if sub is None or sub.deleted:
            old = sub
            sub = Subscription(self, rid, expand_cid(rid, self.cid))
            if old is not None:
                sub.direct = old.direct
            self.subs[rid] = sub
        return sub

    def _add_direct(self, sub: Subscription) -> None:
        if sub.direct >= gateway_settings.subscription_limit:
            raise errors.SUBSCRIPTION_LIMIT_EXCEEDED()
        sub.direct += 1
        sub.load(retry=True)

    def _drop_direct(self, sub: Subscription) -> None:
        sub.direct -= 1
        self.collect_garbage()

    async def _check_get(self, sub: Subscription) -> None:
        """Access first (sent in parallel with the get), then the get's own error."""
        access = await sub.get_access()
        if not access.get:
            raise errors.ACCESS_DENIED()
        await asyncio.shield(sub.load())
        if sub.error is not None:
            raise sub.error()

    def add_reference(self, parent: Subscription, rid: str) -> Subscription:
        """``parent`` holds a hard reference to ``rid``: subscribe it indirectly."""
        parent.refs[rid] += 1
        sub = self.subscription(rid)
        sub.load()
        return sub

    def remove_reference(self, parent: Subscription, rid: str) -> None:
        parent.refs[rid] -= 1
        if parent.refs[rid] <= 0:
            del parent.refs[rid]
            self.collect_garbage()

    async def wait_loaded(self, roots: Iterable[Subscription]) -> None:
        """Wait until every subscription reachable from ``roots`` has loaded (or failed)."""
        seen: set[str] = set()
        todo = list(roots)
        while todo:
            sub = todo.pop()
            if sub.rid in seen:
                continue
            seen.add(sub.rid)
            await asyncio.shield(sub.load())
            todo.extend(self.subs[r] for r in sub.refs if r in self.subs and r not in seen)

    def _reachable(self, roots: Iterable[Subscription], only_sent: bool = False) -> set[str]:
        seen: set[str] = set()
        todo = list(roots)
        while todo:
            sub = todo.pop()
            if sub.rid in seen:
                continue
            seen.add(sub.rid)
            if only_sent and not sub.sent:
                continue
            todo.extend(self.subs[r] for r in sub.refs if r in self.subs and r not in seen)
        return seen

    def collect_garbage(self) -> None:
        """Dispose of what nothing holds (cycles included); forget "sent" where nothing sent holds it."""
        held = self._reachable(s for s in self.subs.values() if s.direct > 0)
        for rid in [rid for rid in self.subs if rid not in held]:
            self.subs.pop(rid).dispose()
        held_sent = self._reachable(
            (s for s in self.subs.values() if s.direct > 0 and s.sent), only_sent=True
        )
        for rid, sub in self.subs.items():
            if sub.sent and rid not in held_sent:
                sub.sent = False

    def resource_set(self, roots: Iterable[Subscription]) -> dict[str, Any]:
        """Everything reachable from ``roots`` that the client lacks; marks it sent."""
        models: dict[str, Any] = {}
        collections: dict[str, Any] = {}
        errs: dict[str, Any] = {}
        todo = list(roots)
        seen: set[str] = set()
        while todo:
            sub = todo.pop()
            if sub.sent or sub.rid in seen:
                continue
            seen.add(sub.rid)
            if sub.error is not None:
                errs[sub.rid] = sub.error.to_dict()
                continue
            if sub.kind == "model":
                models[sub.rid] = client_values(sub.value, self.modern)
            else:
                collections[sub.rid] = client_collection(sub.value, self.modern)
            sub.sent = True
            todo.extend(self.subs[r] for r in sub.refs if r in self.subs)
        result: dict[str, Any] = {}
        if models:
            result["models"] = models
        if collections:
            result["collections"] = collections
        if errs:
            result["errors"] = errs
        return result

    # --- tokens and access --------------------------------------------------------------------------

    def _on_conn_message(self, subject: str, payload: bytes) -> None:
        if not subject.endswith(".token"):
            return
        try:
            data = loads(payload)
            token, tid = data.get("token"), data.get("tid")
        except (ValueError, AttributeError) as e:
            logger.error("invalid token event for %s: %s", self.cid, e)
            return
        self.set_token(token, tid if isinstance(tid, str) else None)

    def set_token(self, token: Any, tid: str | None = None) -> None:
        """Replace the token; access obtained with a previous non-null token is checked again."""
        had_token = self.token is not None
        self.token, self.tid = token, tid
        self.token_generation += 1
        if had_token:
            for sub in list(self.subs.values()):
                sub.on_reaccess()

    def reaccess(self) -> None:
        for sub in list(self.subs.values()):
            sub.on_reaccess()

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
        if info.header:
            fields["header"] = info.header
        fields.update(host=info.host, remoteAddr=info.remote_addr, uri=info.uri)
        return fields

    async def token_reset(self, subject: str) -> None:
        """Ask ``subject`` to renew this connection's token (``system.tokenReset``); the reply is ignored."""
        payload = dumps({"cid": self.cid, "token": self.token, **self._auth_fields()})
        try:
            await self.gateway.mq.request(subject, payload, gateway_settings.request_timeout)
        except ResError as e:
            if e.code == errors.CODE_TIMEOUT:
                logger.error("token reset request %s for %s timed out", subject, self.cid)

    async def load(self, rid: str) -> ResourceTree:
        """``rid`` and everything it references, through the shared cache; raises the root's error."""
        sub = self.subscription(rid)
        self._add_direct(sub)
        try:
            await asyncio.shield(sub.load())
            if sub.error is not None:
                raise sub.error()
            await self.wait_loaded([sub])
            tree = ResourceTree(rid, {}, {})
            for key in self._reachable([sub]):
                s = self.subs[key]
                if s.error is not None:
                    tree.errors[key] = s.error
                elif s.is_loaded:
                    tree.resources[key] = Resource(s.kind, s.value)
            return tree
        finally:
            self._drop_direct(sub)


__all__ = [
    "LATEST",
    "LEGACY",
    "PROTOCOL",
    "Connection",
    "RequestInfo",
    "Resource",
    "ResourceTree",
    "ServiceReply",
    "WriteBatch",
    "new_cid",
    "parse_version",
    "references",
]
