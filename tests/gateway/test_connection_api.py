"""The Connection primitives the REST bridge composes (access, load, call, auth), on the in-process kit."""

from __future__ import annotations

import asyncio

import pytest

from res_gateway.connection import Connection, RequestInfo, Resource, ResourceTree
from res_protocol import ResError
from res_protocol.version import LATEST
from tests.gateway.common import NOT_FOUND, respond_get, value

INFO = RequestInfo(header={"Cookie": ["a=b"]}, host="example.com", remote_addr="10.0.0.1:1234", uri="/api/x")


@pytest.fixture
async def conn(mem_gateway):
    async with Connection(mem_gateway, request_info=INFO) as c:
        yield c


async def test_connection_registers_and_closes(mem_gateway):
    async with Connection(mem_gateway) as c:
        assert c.protocol == LATEST and c.token is None
        assert mem_gateway.connections[c.cid] is c
    assert c.cid not in mem_gateway.connections


async def test_access_is_raw_and_marked_http(conn, mem_service):
    pending = asyncio.ensure_future(conn.access("test.model?q=1", is_http=True))
    req = await mem_service.get_request("access.test.model")
    assert req.data == {"cid": conn.cid, "token": None, "query": "q=1", "isHttp": True}
    await req.respond_result({"get": True}, meta={"status": 302, "header": {"Location": ["/x"]}})
    reply = await pending
    assert reply.result == {"get": True} and reply.error is None
    assert reply.meta == {"status": 302, "header": {"Location": ["/x"]}}


async def test_load_returns_the_tree(conn, mem_service):
    pending = asyncio.ensure_future(conn.load("test.model.brokenchild"))
    await respond_get(await mem_service.get_request("get.test.model.brokenchild"))
    await respond_get(await mem_service.get_request("get.test.err.notFound"))
    tree = await pending
    assert tree == ResourceTree(
        "test.model.brokenchild",
        {"test.model.brokenchild": Resource("model", value("test.model.brokenchild"))},
        {"test.err.notFound": ResError(NOT_FOUND["code"])},
    )
    assert conn.subs == {}  # nothing stays subscribed


async def test_load_raises_root_error(conn, mem_service):
    pending = asyncio.ensure_future(conn.load("test.missing"))
    await (await mem_service.get_request("get.test.missing")).respond({"error": NOT_FOUND})
    with pytest.raises(ResError) as e:
        await pending
    assert e.value.code == "system.notFound"


async def test_call_returns_resource_reply_without_access_check(conn, mem_service):
    pending = asyncio.ensure_future(conn.call("test.collection", "create", {"a": 1}, is_http=True))
    req = await mem_service.get_request("call.test.collection.create")
    assert req.data == {"cid": conn.cid, "token": None, "params": {"a": 1}, "isHttp": True}
    await req.respond_resource("test.model")
    reply = await pending
    assert reply.resource == "test.model" and reply.result is None


async def test_auth_without_params_carries_request_info_and_applies_token(conn, mem_service):
    pending = asyncio.ensure_future(conn.auth("test.auth", "login", is_http=True))
    req = await mem_service.get_request("auth.test.auth.login")
    assert req.data == {
        "cid": conn.cid,
        "token": None,
        "header": {"Cookie": ["a=b"]},
        "host": "example.com",
        "remoteAddr": "10.0.0.1:1234",
        "uri": "/api/x",
        "isHttp": True,
    }
    await mem_service.publish_token(conn.cid, {"user": 1})
    await req.respond_result(None)
    assert (await pending).error is None
    assert conn.token == {"user": 1}


async def test_auth_with_cid_tag(conn, mem_service):
    pending = asyncio.ensure_future(conn.auth("test.{cid}", "login", params=None))
    req = await mem_service.get_request(f"auth.test.{conn.cid}.login")
    assert req.data["params"] is None
    await req.respond_error("custom.denied", "No")
    assert (await pending).error == ResError("custom.denied")
