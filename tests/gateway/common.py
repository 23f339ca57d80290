"""Resources and helpers shared by the gateway tests (a table like resgate's test/resources.go)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from tests.harness import Client, Request, Service

Publish = Callable[[str], Awaitable[None]]

NOT_FOUND = {"code": "system.notFound", "message": "Not found"}
ACCESS_DENIED = {"code": "system.accessDenied", "message": "Access denied"}
INTERNAL_ERROR = {"code": "system.internalError", "message": "Internal error"}
TIMEOUT = {"code": "system.timeout", "message": "Request timeout"}
INVALID_REQUEST = {"code": "system.invalidRequest", "message": "Invalid request"}

#: rid -> ("model" | "collection" | "error", value)
RESOURCES: dict[str, tuple[str, Any]] = {
    "test.model": ("model", {"string": "foo", "int": 42, "bool": True, "null": None}),
    "test.model.parent": ("model", {"name": "parent", "child": {"rid": "test.model"}}),
    "test.model.secondparent": ("model", {"name": "secondparent", "child": {"rid": "test.model"}}),
    "test.model.grandparent": ("model", {"name": "grandparent", "child": {"rid": "test.model.parent"}}),
    "test.model.brokenchild": ("model", {"name": "brokenchild", "child": {"rid": "test.err.notFound"}}),
    "test.model.soft": ("model", {"name": "soft", "child": {"rid": "test.model", "soft": True}}),
    "test.model.data": (
        "model",
        {"name": "data", "primitive": {"data": 12}, "object": {"data": {"foo": ["bar"]}}},
    ),
    "test.m.a": ("model", {"a": {"rid": "test.m.a"}}),
    "test.m.b": ("model", {"c": {"rid": "test.m.c"}}),
    "test.m.c": ("model", {"b": {"rid": "test.m.b"}}),
    "test.m.d": ("model", {"e": {"rid": "test.m.e"}, "f": {"rid": "test.m.f"}}),
    "test.m.e": ("model", {"d": {"rid": "test.m.d"}}),
    "test.m.f": ("model", {"d": {"rid": "test.m.d"}}),
    "test.m.g": ("model", {"e": {"rid": "test.m.e"}, "f": {"rid": "test.m.f"}}),
    "test.collection": ("collection", ["foo", 42, True, None]),
    "test.collection.parent": ("collection", ["parent", {"rid": "test.collection"}]),
    "test.collection.soft": ("collection", ["soft", {"rid": "test.collection", "soft": True}]),
    "test.collection.data": ("collection", ["data", {"data": 12}, {"data": {"foo": ["bar"]}}]),
    "test.c.a": ("collection", [{"rid": "test.c.a"}]),
    "test.c.b": ("collection", [{"rid": "test.c.c"}]),
    "test.c.c": ("collection", [{"rid": "test.c.b"}]),
    "test.err.notFound": ("error", NOT_FOUND),
    "test.err.internalError": ("error", INTERNAL_ERROR),
}


def value(rid: str) -> Any:
    return RESOURCES[rid][1]


async def respond_get(req: Request, rid: str | None = None) -> None:
    """Answer a get request from the resource table."""
    kind, data = RESOURCES[rid or req.subject[4:]]
    if kind == "model":
        await req.respond_model(data)
    elif kind == "collection":
        await req.respond_collection(data)
    else:
        await req.respond({"error": data})


def serve(service: Service, *rids: str, access: dict[str, Any] | None = None) -> None:
    """Answer gets for ``rids`` from the table, and their access with ``access`` (default: all)."""
    for rid in rids:
        kind, data = RESOURCES[rid]
        service.auto(f"get.{rid}", {"error": data} if kind == "error" else {"result": {kind: data}})
        service.auto(
            f"access.{rid}", {"result": access if access is not None else {"get": True, "call": "*"}}
        )


async def subscribe(client: Client, service: Service, rid: str, *refs: str) -> dict[str, Any]:
    """Subscribe ``rid`` answering access and gets of ``rid`` and ``refs`` in order; the result."""
    pending = client.send(f"subscribe.{rid}")
    reqs = await service.get_requests(2)
    await reqs.get(f"access.{rid}").respond_access(get=True, call="*")
    await respond_get(reqs.get(f"get.{rid}"))
    for ref in refs:
        await respond_get(await service.get_request(f"get.{ref}"))
    return await pending.result()


async def respond(req: Request, response: Any) -> None:
    """Answer with a table entry: ``None`` lets it time out, bytes go raw, a dict is the full response."""
    if response is None:
        return
    if isinstance(response, bytes):
        await req.respond_raw(response)
    else:
        await req.respond(response)


def result(value: Any) -> dict[str, Any]:
    return {"result": value}


def upgrade_request(*headers: bytes) -> bytes:
    """A raw client's WebSocket upgrade request for ``/``, with any extra header lines."""
    return (
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        + b"".join(h + b"\r\n" for h in headers)
        + b"\r\n"
    )


def client_frame(payload: bytes, opcode: int = 0x01, fin: bool = True) -> bytes:
    """One masked frame of a client (payloads under 126 bytes)."""
    assert len(payload) < 126
    mask = b"\x01\x02\x03\x04"
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([(0x80 if fin else 0) | opcode, 0x80 | len(payload)]) + mask + masked


def error(err: dict[str, Any]) -> dict[str, Any]:
    return {"error": err}


async def get_cid(client: Client, service: Service, before_reply: Publish | None = None) -> str:
    """The connection id, learnt from an auth request.

    ``before_reply(cid)`` publishes what the service sends before it answers, as a token event on login:
    the gateway handles it before the reply, so it applies to the client's next request.
    """
    pending = client.send("auth.test.cid.get")
    req = await service.get_request("auth.test.cid.get")
    cid = req.data["cid"]
    if before_reply is not None:
        await before_reply(cid)
    await req.respond_result(None)
    await pending
    return cid


async def set_token(client: Client, service: Service, token: Any, tid: str | None = None) -> str:
    """Give the connection ``token`` during an auth request, as services do; the cid."""
    return await get_cid(client, service, lambda cid: service.publish_token(cid, token, tid))
