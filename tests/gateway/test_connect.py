"""Connecting: the WebSocket path, origin checks and header authentication on the upgrade request."""

from __future__ import annotations

import asyncio
import os

import httpx
import pytest
import websockets

from res_gateway.connection import new_cid
from tests.gateway.common import get_cid, subscribe
from tests.harness import Client


async def test_connect_and_version(client):
    assert await client.request("version") == {"result": {"protocol": "1.2.3"}, "id": 2}


async def test_many_clients_get_distinct_cids(connect, service):
    cids = {await get_cid(await connect(), service) for _ in range(5)}
    assert len(cids) == 5


@pytest.mark.parametrize("path", ["/ws", "/other/", "/favicon.ico"])
async def test_other_paths_are_refused(gateway, path):
    with pytest.raises(websockets.InvalidStatus) as e:
        await Client.connect(f"ws://127.0.0.1:{gateway.port}{path}")
    assert e.value.response.status_code == 404


async def test_ws_path_setting(start_gateway, connect):
    gw = start_gateway(wsPath="/ws")
    c = await connect(gw.ws_url)
    assert (await c.request("version"))["result"] == {"protocol": "1.2.3"}
    with pytest.raises(websockets.InvalidStatus):
        await Client.connect(f"ws://127.0.0.1:{gw.port}/")


@pytest.fixture(scope="module")
def origin_gateway(nats_url):
    from tests.harness import run_gateway

    gw = run_gateway(nats_url, allowOrigin="http://allowed.com;https://other.com:8443")
    yield gw
    gw.stop()


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        (None, True),
        ("null", False),
        ("http://allowed.com", True),
        ("HTTP://Allowed.COM", True),
        ("https://other.com:8443", True),
        ("https://allowed.com", False),
        ("http://allowed.com:80", False),
        ("http://evil.com", False),
        ("https://other.com", False),
    ],
)
async def test_allow_origin(origin_gateway, origin, allowed):
    kwargs = {"origin": origin} if origin is not None else {}
    if allowed:
        c = await Client.connect(origin_gateway.ws_url, **kwargs)
        assert (await c.request("version"))["result"] == {"protocol": "1.2.3"}
        await c.close()
    else:
        with pytest.raises(websockets.InvalidStatus) as e:
            await Client.connect(origin_gateway.ws_url, **kwargs)
        assert e.value.response.status_code == 403


@pytest.fixture(scope="module")
def header_auth_gateway(nats_url):
    from tests.harness import run_gateway

    gw = run_gateway(nats_url, wsHeaderAuth="test.auth.header", requestTimeout=1000)
    yield gw
    gw.stop()


async def test_ws_header_auth_sets_token_before_first_request(header_auth_gateway, service):
    connecting = asyncio.ensure_future(
        Client.connect(header_auth_gateway.ws_url, additional_headers={"Cookie": "session=abc"})
    )
    req = await service.get_request("auth.test.auth.header")
    assert req.data["isHttp"] is True
    assert "params" not in req.data
    assert req.data["header"]["Cookie"] == ["session=abc"]
    assert req.data["uri"] == "/"
    assert req.data["host"] == f"127.0.0.1:{header_auth_gateway.port}"
    await service.publish_token(req.data["cid"], {"user": "abc"})
    await req.respond_result(None)
    c = await connecting
    try:
        pending = c.send("subscribe.test.model")
        reqs = await service.get_requests(2)
        assert reqs.get("access.test.model").data["token"] == {"user": "abc"}
        await reqs.get("access.test.model").respond_access(get=True)
        await reqs.get("get.test.model").respond_model({"a": 1})
        await pending
    finally:
        await c.close()


@pytest.mark.parametrize("response", [{"error": {"code": "system.accessDenied", "message": "x"}}, None])
async def test_ws_header_auth_errors_are_ignored(header_auth_gateway, service, response):
    connecting = asyncio.ensure_future(Client.connect(header_auth_gateway.ws_url))
    req = await service.get_request("auth.test.auth.header")
    if response is not None:
        await req.respond(response)
    c = await connecting
    assert (await c.request("version"))["result"] == {"protocol": "1.2.3"}
    await c.close()


@pytest.mark.parametrize(
    ("meta", "status", "header"),
    [
        ({"status": 401}, 401, None),
        ({"status": 403, "header": {"X-Reason": ["nope"]}}, 403, ("x-reason", "nope")),
        ({"status": 503}, 503, None),
    ],
)
async def test_ws_header_auth_meta_status_refuses_upgrade(header_auth_gateway, service, meta, status, header):
    connecting = asyncio.ensure_future(Client.connect(header_auth_gateway.ws_url))
    req = await service.get_request("auth.test.auth.header")
    await req.respond_result(None, meta=meta)
    with pytest.raises(websockets.InvalidStatus) as e:
        await connecting
    assert e.value.response.status_code == status
    if header is not None:
        assert e.value.response.headers[header[0]] == header[1]


UPGRADE_HEADERS = {
    "Connection": "Upgrade",
    "Upgrade": "websocket",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version": "13",
}


@pytest.mark.parametrize(
    ("meta", "resource", "location"),
    [
        ({"status": 302, "header": {"Location": ["/login"]}}, None, "/login"),
        ({"status": 307}, "test.auth.page", "/api/test/auth/page"),
    ],
)
async def test_ws_header_auth_meta_redirect(header_auth_gateway, service, meta, resource, location):
    async with httpx.AsyncClient() as http:
        upgrading = asyncio.ensure_future(http.get(header_auth_gateway.url + "/", headers=UPGRADE_HEADERS))
        req = await service.get_request("auth.test.auth.header")
        if resource is None:
            await req.respond_result(None, meta=meta)
        else:
            await req.respond_resource(resource, meta=meta)
        response = await upgrading
    assert response.status_code == meta["status"]
    assert response.headers["location"] == location


async def test_ws_header_auth_meta_headers_on_upgrade_response(header_auth_gateway, service):
    connecting = asyncio.ensure_future(Client.connect(header_auth_gateway.ws_url))
    req = await service.get_request("auth.test.auth.header")
    meta = {"header": {"Set-Cookie": ["a=b"], "X-Custom": ["yes"], "Content-Type": ["text/evil"]}}
    await req.respond_result(None, meta=meta)
    c = await connecting
    try:
        headers = c.ws.response.headers
        assert headers["set-cookie"] == "a=b"
        assert headers["x-custom"] == "yes"
        assert "content-type" not in headers
    finally:
        await c.close()


async def test_closing_client_disposes_subscriptions(connect, service):
    c = await connect()
    await subscribe(c, service, "test.model")
    await c.close()
    other = await connect()
    pending = other.send("subscribe.test.model")
    reqs = await service.get_requests(2)  # evicted: fetched again
    await reqs.get("access.test.model").respond_access(get=True)
    await reqs.get("get.test.model").respond_model({"a": 2})
    assert await pending.result() == {"models": {"test.model": {"a": 2}}}


def test_connection_ids_are_unique_within_a_process_and_across_forked_workers():
    parent = [new_cid() for _ in range(1000)]
    assert len(set(parent)) == 1000 and all(len(cid) == 20 for cid in parent)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # a worker forked from the gateway draws IDs of its own, not the parent's next ones
        os.write(write, new_cid().encode())
        os._exit(0)
    os.waitpid(pid, 0)
    child = os.read(read, 100).decode()
    os.close(read)
    os.close(write)
    assert child != new_cid() and child not in parent
