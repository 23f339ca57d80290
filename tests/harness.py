"""Shared harness for gateway tests: a real gateway process, a test service on NATS, a WebSocket client.

Fixtures (``start_gateway`` and ``service`` are shared by :mod:`tests.plugin`, nothing to import; the other
three are imported where wanted, ``tests/gateway`` has its own):

- ``start_gateway(**config)`` starts ``manage.py rungateway`` on a free port, with ``NATS_URL`` set to
  the session's nats-server and ``RES_GATEWAY`` holding the config (resgate's keys, ``unsubscribeDelay``
  defaults to 0); ``asgi_only=True`` runs plain uvicorn on ``resproject.asgi:application`` instead, without
  the fan-out's socket writes. Every gateway it started is stopped after the test.
- ``gateway``: one gateway for the whole module with the default test config.
- ``service``: a :class:`Service` on NATS recording every request the gateway sends (on a :class:`Wire`:
  :class:`NatsWire`, or the in-memory broker of :mod:`tests.gateway.inprocess`).
- ``client``: a :class:`Client` connected to ``gateway`` over WebSocket.

A typical test::

    async def test_subscribe(client, service):
        pending = client.send("subscribe.test.model")
        (await service.get_request("access.test.model")).respond_access(get=True)
        (await service.get_request("get.test.model")).respond_model({"foo": "bar"})
        assert (await pending)["result"] == {"models": {"test.model": {"foo": "bar"}}}
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import nats
import pytest
import websockets
from nats.aio.msg import Msg

from tests.support import Process, free_port, manage, nats_round_trip

#: How long helpers wait for something that should arrive (seconds).
TIMEOUT = 10.0
#: How long ``assert_no_*`` helpers wait for something that should not arrive (seconds).
QUIET = 0.15

DEFAULT_CONFIG: dict[str, Any] = {"unsubscribeDelay": 0}

#: Subjects a gateway sends requests on.
REQUEST_SUBJECTS = ("get.>", "access.>", "call.>", "auth.>")


# --- the gateway process ------------------------------------------------------------------------------


@dataclass
class GatewayProcess:
    """A running gateway on a free port."""

    port: int
    config: dict[str, Any]
    process: Process

    @property
    def url(self) -> str:
        """HTTP base URL, e.g. ``http://127.0.0.1:12345``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        """WebSocket URL of the configured ``wsPath``."""
        return f"ws://127.0.0.1:{self.port}{self.config.get('wsPath', '/')}"

    def output(self) -> str:
        return self.process.output()

    def stop(self) -> int | None:
        return self.process.stop()


def run_gateway(
    nats_url: str, *, asgi_only: bool = False, addr: str = "127.0.0.1", **config: Any
) -> GatewayProcess:
    """Start a gateway process and wait until it listens; the caller stops it.

    ``rungateway`` as users run it, or with ``asgi_only`` plain uvicorn serving the site's ASGI application.
    It listens on ``addr`` (``""``: every IPv4 and IPv6 interface, as ``rungateway -i ""``).
    """
    config = {**DEFAULT_CONFIG, **config}
    port = free_port()
    env = {
        "NATS_URL": nats_url,
        "RES_GATEWAY": json.dumps(config),
        "DJANGO_SETTINGS_MODULE": "resproject.settings",
        "PYTHONUNBUFFERED": "1",
    }
    if asgi_only:
        args = [sys.executable, "-m", "uvicorn", "resproject.asgi:application", "--no-access-log"]
        args += ["--host", addr, "--port", str(port), "--ws", "websockets-sansio"]
        process = Process(args, env=env, name="gateway")
    else:
        args = ["-i", addr, "-p", str(port), "--workers", "1"]  # one cache, one set of metrics
        process = manage("rungateway", *args, env=env, name="gateway")
    return GatewayProcess(port, config, process.wait_listening(port))


@pytest.fixture
def start_gateway(nats_url: str) -> Iterator[Callable[..., GatewayProcess]]:
    """Factory: ``start_gateway(requestTimeout=200)`` starts a gateway with those options."""
    started: list[GatewayProcess] = []

    def start(*, asgi_only: bool = False, **config: Any) -> GatewayProcess:
        gw = run_gateway(nats_url, asgi_only=asgi_only, **config)
        started.append(gw)
        return gw

    yield start
    for gw in started:
        gw.stop()


@pytest.fixture(scope="module")
def gateway(nats_url: str) -> Iterator[GatewayProcess]:
    """One gateway with the default test config, shared by a module's tests."""
    gw = run_gateway(nats_url)
    yield gw
    gw.stop()


# --- the test service ---------------------------------------------------------------------------------


@dataclass
class Request:
    """One request the gateway sent to a service, answered with one of the ``respond_*`` methods."""

    subject: str
    data: Any  # decoded JSON payload (None for an empty payload)
    raw: bytes
    reply: str
    service: Service = field(repr=False)

    @property
    def kind(self) -> str:
        """``get``, ``access``, ``call`` or ``auth``."""
        return self.subject.split(".", 1)[0]

    async def respond_raw(self, payload: bytes) -> None:
        await self.service.wire.publish(self.reply, payload)
        await self.service.wire.sync()

    async def respond(self, response: dict[str, Any]) -> None:
        await self.respond_raw(json.dumps(response).encode())

    async def respond_result(self, result: Any, meta: dict[str, Any] | None = None) -> None:
        await self.respond(_with_meta({"result": result}, meta))

    async def respond_model(self, model: dict[str, Any], query: str | None = None) -> None:
        await self.respond_result(_with_query({"model": model}, query))

    async def respond_collection(self, collection: list[Any], query: str | None = None) -> None:
        await self.respond_result(_with_query({"collection": collection}, query))

    async def respond_access(self, get: bool = False, call: str | None = None) -> None:
        result: dict[str, Any] = {"get": get}
        if call is not None:
            result["call"] = call
        await self.respond_result(result)

    async def respond_resource(self, rid: str, meta: dict[str, Any] | None = None) -> None:
        await self.respond(_with_meta({"resource": {"rid": rid}}, meta))

    async def respond_error(
        self, code: str, message: str = "", data: Any = None, meta: dict[str, Any] | None = None
    ) -> None:
        error: dict[str, Any] = {"code": code, "message": message}
        if data is not None:
            error["data"] = data
        await self.respond(_with_meta({"error": error}, meta))

    async def respond_timeout(self, ms: int) -> None:
        """A pre-response extending the gateway's timeout for this request."""
        await self.respond_raw(f'timeout:"{ms}"'.encode())


def _with_meta(body: dict[str, Any], meta: dict[str, Any] | None) -> dict[str, Any]:
    return {**body, "meta": meta} if meta is not None else body


def _with_query(result: dict[str, Any], query: str | None) -> dict[str, Any]:
    return {**result, "query": query} if query is not None else result


#: Called with (subject, payload, reply subject) for each message a :class:`Wire` subscription receives.
WireHandler = Callable[[str, bytes, str], Awaitable[None]]


class Wire(Protocol):
    """What a :class:`Service` sends and receives through."""

    async def publish(self, subject: str, payload: bytes, reply: str = "") -> None: ...

    async def subscribe(self, subject: str, handler: WireHandler) -> None: ...

    async def sync(self) -> None:
        """Return once what was published before has reached its subscribers' connections."""
        ...

    async def close(self) -> None: ...


class NatsWire:
    """A :class:`Wire` on a nats-py connection."""

    def __init__(self, nc: nats.NATS) -> None:
        self.nc = nc

    async def publish(self, subject: str, payload: bytes, reply: str = "") -> None:
        await self.nc.publish(subject, payload, reply=reply)

    async def subscribe(self, subject: str, handler: WireHandler) -> None:
        async def cb(msg: Msg) -> None:
            await handler(msg.subject, msg.data, msg.reply)

        await self.nc.subscribe(subject, cb=cb)

    async def sync(self) -> None:
        await nats_round_trip(self.nc)

    async def close(self) -> None:
        await self.nc.drain()


class Service:
    """A RES service for tests: records requests, answers what the test says, publishes events.

    ``auto(subject, response)`` answers every request on ``subject`` with ``response`` (the full response
    object, e.g. ``{"result": {"model": {...}}}``) instead of queuing it. ``quiet`` is how long
    :meth:`assert_no_request` waits by default.
    """

    def __init__(self, wire: Wire, quiet: float = QUIET) -> None:
        self.wire = wire
        self.quiet = quiet
        self.requests: asyncio.Queue[Request] = asyncio.Queue()
        self._auto: dict[str, dict[str, Any] | Callable[[Request], Any]] = {}

    @classmethod
    async def connect(cls, nats_url: str) -> Service:
        """A service on NATS listening to every request subject."""
        return await cls.on(NatsWire(await nats.connect(nats_url, allow_reconnect=False)))

    @classmethod
    async def on(cls, wire: Wire, quiet: float = QUIET) -> Service:
        """A service on ``wire`` listening to every request subject."""
        service = cls(wire, quiet)
        for subject in REQUEST_SUBJECTS:
            await wire.subscribe(subject, service._on_request)
        await wire.sync()
        return service

    async def close(self) -> None:
        await self.wire.close()

    async def listen(self, subject: str) -> None:
        """Record requests on one more subject too (e.g. the inbox of a query event)."""
        await self.wire.subscribe(subject, self._on_request)
        await self.wire.sync()

    async def publish_query_event(self, name: str, subject: str = "_QUERY_.1") -> str:
        """Listen on ``subject`` and publish ``event.<name>.query`` naming it; returns the subject."""
        await self.listen(subject)
        await self.publish_event(name, "query", {"subject": subject})
        return subject

    async def _on_request(self, subject: str, payload: bytes, reply: str) -> None:
        data = json.loads(payload) if payload else None
        req = Request(subject, data, payload, reply, self)
        response = self._auto.get(subject)
        if response is None:
            self.requests.put_nowait(req)
        elif callable(response):
            await response(req)
        else:
            await req.respond(response)

    def auto(self, subject: str, response: dict[str, Any] | Callable[[Request], Any]) -> None:
        """Answer every request on ``subject`` with ``response`` (or call the async ``response(req)``)."""
        self._auto[subject] = response

    async def get_request(self, subject: str | None = None, wait: float = TIMEOUT) -> Request:
        """The next request; when ``subject`` is given, assert it is on that subject."""
        try:
            req = await asyncio.wait_for(self.requests.get(), wait)
        except TimeoutError:
            raise AssertionError(f"no request received within {wait}s (expected {subject or 'any'})")
        if subject is not None:
            assert req.subject == subject, f"expected request on {subject!r}, got {req.subject!r}"
        return req

    async def get_requests(self, n: int, wait: float = TIMEOUT) -> Requests:
        """The next ``n`` requests, in any order (for requests the gateway sends in parallel)."""
        return Requests([await self.get_request(wait=wait) for _ in range(n)])

    async def assert_no_request(self, wait: float | None = None) -> None:
        await asyncio.sleep(self.quiet if wait is None else wait)
        assert self.requests.empty(), f"unexpected request: {self.requests.get_nowait()}"

    async def publish(self, subject: str, payload: Any) -> None:
        """Publish JSON (or raw ``bytes``) and flush, so the gateway has it before the next step."""
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        await self.wire.publish(subject, data)
        await self.wire.sync()

    async def publish_event(self, rid: str, event: str, data: Any = None) -> None:
        """Publish ``event.<rid>.<event>``; ``data=None`` sends an empty payload."""
        await self.publish(f"event.{rid}.{event}", b"" if data is None else data)

    async def publish_change(self, rid: str, values: dict[str, Any]) -> None:
        await self.publish_event(rid, "change", {"values": values})

    async def publish_add(self, rid: str, value: Any, idx: int) -> None:
        await self.publish_event(rid, "add", {"value": value, "idx": idx})

    async def publish_remove(self, rid: str, idx: int) -> None:
        await self.publish_event(rid, "remove", {"idx": idx})

    async def publish_reset(
        self, resources: list[str] | None = None, access: list[str] | None = None
    ) -> None:
        payload: dict[str, Any] = {}
        if resources is not None:
            payload["resources"] = resources
        if access is not None:
            payload["access"] = access
        await self.publish("system.reset", payload)

    async def publish_token(self, cid: str, token: Any, tid: str | None = None) -> None:
        payload: dict[str, Any] = {"token": token}
        if tid is not None:
            payload["tid"] = tid
        await self.publish(f"conn.{cid}.token", payload)


@dataclass
class Requests:
    """Requests received in parallel, looked up by subject."""

    items: list[Request]

    def get(self, subject: str) -> Request:
        for req in self.items:
            if req.subject == subject:
                return req
        raise AssertionError(f"no request on {subject!r} among {[r.subject for r in self.items]}")

    def __len__(self) -> int:
        return len(self.items)


@pytest.fixture
async def service(nats_url: str) -> AsyncIterator[Service]:
    svc = await Service.connect(nats_url)
    yield svc
    await svc.close()


# --- the WebSocket client -----------------------------------------------------------------------------


class Pending:
    """A request sent by :meth:`Client.send`; ``await`` it for the response message."""

    def __init__(self, future: asyncio.Future[dict[str, Any]], id: int) -> None:
        self.future = future
        self.id = id

    def __await__(self):  # type: ignore[no-untyped-def]
        return asyncio.wait_for(asyncio.shield(self.future), TIMEOUT).__await__()

    async def result(self) -> Any:
        """The response's result, asserting it is not an error."""
        msg = await self
        assert "error" not in msg, f"unexpected error response: {msg}"
        return msg["result"]

    async def error(self, code: str | None = None) -> dict[str, Any]:
        """The response's error, asserting it is one (and has ``code`` when given)."""
        msg = await self
        assert "error" in msg, f"expected an error response, got {msg}"
        if code is not None:
            assert msg["error"]["code"] == code, f"expected {code}, got {msg['error']}"
        return msg["error"]


class Client:
    """A RES client over a WebSocket: numbered requests, responses by id, events in order.

    ``ws`` is a real one, or what :mod:`tests.gateway.inprocess` offers in its place (``send``, ``close``,
    async iteration over the texts received). ``quiet`` is how long :meth:`assert_no_message` waits.
    """

    def __init__(self, ws: Any, quiet: float = QUIET) -> None:
        self.ws = ws
        self.quiet = quiet
        self._next_id = 1
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.closed = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def connect(cls, url: str, **kwargs: Any) -> Client:
        """Connect (kwargs go to ``websockets.connect``, e.g. ``origin=`` or ``additional_headers=``)."""
        return cls(await websockets.connect(url, max_size=None, **kwargs))

    async def _read(self) -> None:
        try:
            async for text in self.ws:
                msg = json.loads(text)
                future = self._pending.pop(msg.get("id"), None) if "id" in msg else None
                if future is not None:
                    future.set_result(msg)
                else:
                    self.events.put_nowait(msg)
        except websockets.ConnectionClosed:
            pass
        finally:
            self.closed.set()

    def send(self, method: str, params: Any = None) -> Pending:
        """Send a request without waiting; omits ``params`` when None."""
        id = self._next_id
        self._next_id += 1
        msg: dict[str, Any] = {"id": id, "method": method}
        if params is not None:
            msg["params"] = params
        return self.send_raw(json.dumps(msg), id)

    def send_raw(self, text: str | bytes, id: int | None = None) -> Pending:
        """Send any frame; ``id`` is the request id whose response the returned :class:`Pending` awaits."""
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        if id is not None:
            self._pending[id] = future
        asyncio.ensure_future(self.ws.send(text))
        return Pending(future, id or 0)

    async def request(self, method: str, params: Any = None) -> dict[str, Any]:
        """Send a request and return its response message (``result`` or ``error``)."""
        return await self.send(method, params)

    async def get_event(self, event: str | None = None, wait: float = TIMEOUT) -> dict[str, Any]:
        """The next message without a matching id (an event); asserts its name when given."""
        try:
            msg = await asyncio.wait_for(self.events.get(), wait)
        except TimeoutError:
            raise AssertionError(f"no event received within {wait}s (expected {event or 'any'})")
        if event is not None:
            assert msg.get("event") == event, f"expected event {event!r}, got {msg}"
        return msg

    async def assert_no_message(self, wait: float | None = None) -> None:
        """Assert no event arrives within ``wait`` seconds (default: ``quiet``)."""
        await asyncio.sleep(self.quiet if wait is None else wait)
        assert self.events.empty(), f"unexpected message: {self.events.get_nowait()}"

    async def wait_closed(self, wait: float = TIMEOUT) -> None:
        await asyncio.wait_for(self.closed.wait(), wait)

    async def close(self) -> None:
        await self.ws.close()
        await self._reader


@pytest.fixture
async def client(gateway: GatewayProcess) -> AsyncIterator[Client]:
    c = await Client.connect(gateway.ws_url)
    yield c
    await c.close()


@pytest.fixture
async def connect(gateway: GatewayProcess) -> AsyncIterator[Callable[..., Any]]:
    """Factory for more clients: ``c = await connect()`` (closed after the test)."""
    clients: list[Client] = []

    async def open_client(url: str | None = None, **kwargs: Any) -> Client:
        c = await Client.connect(url or gateway.ws_url, **kwargs)
        clients.append(c)
        return c

    yield open_client
    for c in clients:
        await c.close()
