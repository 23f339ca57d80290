"""Header authentication before each HTTP request (resgate's tests 14 and 15 on headerAuth, by feature)."""

from __future__ import annotations

import asyncio

import pytest

from .conftest import AUTH
from .resources import MODEL

TOKEN = {"user": "foo"}
NO_TOKEN = object()


async def answer_auth(req, reply) -> None:
    if reply == "timeout":
        return
    if isinstance(reply, bytes):
        await req.respond_raw(reply)
    else:
        await req.respond(reply)


AUTH_REPLIES = [
    "timeout",
    {"error": {"code": "system.notFound", "message": "Not found"}},
    b"{]",
    {"result": None},
]
# Every reply with every token; a timeout (slow to run) with a token only.
CASES = [(reply, token) for token in (NO_TOKEN, TOKEN, None) for reply in AUTH_REPLIES[1:]] + [
    ("timeout", TOKEN)
]


@pytest.mark.parametrize(("auth_reply", "token"), CASES)
@pytest.mark.parametrize("verb", ["GET", "POST"])
async def test_token_set_during_auth_is_used_for_access(http, service, auth_reply, token, verb):
    url = "/api/test/model" if verb == "GET" else "/api/test/model/method"
    pending = asyncio.ensure_future(http(**AUTH).request(verb, url, headers={"Origin": "example.com"}))
    auth = await service.get_request("auth.vault.method")
    assert auth.data["header"]["Origin"] == ["example.com"]
    assert auth.data["isHttp"] is True
    if token is not NO_TOKEN:
        await service.publish_token(auth.data["cid"], token)
    await answer_auth(auth, auth_reply)
    requests = await service.get_requests(2 if verb == "GET" else 1, wait=3)
    access = requests.get("access.test.model")
    assert access.data.get("token") == (None if token is NO_TOKEN else token)
    assert access.data["cid"] == auth.data["cid"]
    await access.respond_access(get=True, call="*")
    if verb == "GET":
        await requests.get("get.test.model").respond_model(MODEL)
        expected = MODEL
    else:
        await (await service.get_request("call.test.model.method")).respond_result({"foo": "bar"})
        expected = {"foo": "bar"}
    response = await pending
    assert (response.status_code, response.json()) == (200, expected)
    assert response.headers["access-control-allow-credentials"] == "true"


async def test_auth_request_describes_the_http_request(http, service):
    client = http(**AUTH)
    pending = asyncio.ensure_future(
        client.get("/api/test/model?q=1", headers={"Cookie": "session=abc", "X-Custom": "a"})
    )
    auth = await service.get_request("auth.vault.method")
    data = auth.data
    assert data["header"]["Cookie"] == ["session=abc"]
    assert data["header"]["X-Custom"] == ["a"]
    assert "Host" not in data["header"]  # Go keeps the host apart from the headers
    assert data["host"] == client.base_url.netloc.decode()
    assert data["remoteAddr"].startswith("127.0.0.1:")
    assert data["uri"] == "/api/test/model?q=1"
    assert "params" not in data
    await auth.respond_result(None)
    requests = await service.get_requests(2)
    await requests.get("access.test.model").respond_access(get=True)
    await requests.get("get.test.model").respond_model(MODEL)
    assert (await pending).status_code == 200


async def test_login_cookie_from_auth_meta_reaches_the_client(http, service):
    cookies = ["session=new; Path=/; HttpOnly", "theme=dark"]
    service.auto("auth.vault.method", {"result": None, "meta": {"header": {"Set-Cookie": cookies}}})
    service.auto("access.test.model", {"result": {"get": True}})
    service.auto("get.test.model", {"result": {"model": MODEL}})
    response = await http(**AUTH).get("/api/test/model", headers={"Cookie": "session=old"})
    assert response.status_code == 200
    assert response.headers.get_list("set-cookie") == cookies


@pytest.mark.parametrize(
    ("verb", "url", "body", "status"),
    [
        ("GET", "/api/test.model", None, 404),
        ("POST", "/api/action", None, 404),
        ("PUT", "/api/test/model", None, 405),
        ("POST", "/api/test/model/method", b"{]", 400),
        ("OPTIONS", "/api/test/model", None, 200),
    ],
)
async def test_local_checks_come_before_auth(http, service, verb, url, body, status):
    response = await http(**AUTH).request(verb, url, content=body)
    assert response.status_code == status
    await service.assert_no_request()
