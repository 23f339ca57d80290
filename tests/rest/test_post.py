"""POST calls over HTTP (resgate's test 15, by feature)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from res_protocol import errors

from .conftest import MAPPED, assert_error

SUCCESS = {"foo": "bar"}
FULL = {"get": True, "call": "*"}


async def post(client, url: str, body: bytes | None = None, **kwargs: Any):
    return await client.post(url, content=body, **kwargs)


@pytest.mark.parametrize(
    ("body", "params"),
    [
        (None, None),
        (b"", None),
        (b"  \n\t ", None),
        (b'{"value":42}', {"value": 42}),
        (b"[1,2]", [1, 2]),
        (b"null", None),
        (b' "text" ', "text"),
    ],
)
async def test_body_becomes_params(http, service, body, params):
    pending = asyncio.ensure_future(post(http(), "/api/test/model/method?q=foo&f=bar", body))
    access = await service.get_request("access.test.model")
    assert (access.data["query"], access.data["isHttp"]) == ("q=foo&f=bar", True)
    await access.respond_access(call="method")
    call = await service.get_request("call.test.model.method")
    assert call.data["params"] == params
    assert (call.data["query"], call.data["isHttp"]) == ("q=foo&f=bar", True)
    await call.respond_result(SUCCESS)
    response = await pending
    assert (response.status_code, response.json()) == (200, SUCCESS)


@pytest.mark.parametrize(
    ("access", "status", "code"),
    [
        ({"get": True, "call": "foo,bar"}, 401, errors.CODE_ACCESS_DENIED),
        ({"get": True}, 401, errors.CODE_ACCESS_DENIED),
        ({"get": True, "call": "methodx"}, 401, errors.CODE_ACCESS_DENIED),
    ],
)
async def test_access_must_allow_the_method(http, service, access, status, code):
    service.auto("access.test.model", {"result": access})
    assert_error(await post(http(), "/api/test/model/method"), status, code)
    await service.assert_no_request()


@pytest.mark.parametrize("call", ["method", "foo,method", "*"])
async def test_access_allowing_the_method(http, service, call):
    service.auto("access.test.model", {"result": {"call": call}})
    service.auto("call.test.model.method", {"result": SUCCESS})
    response = await post(http(), "/api/test/model/method")
    assert (response.status_code, response.json()) == (200, SUCCESS)


async def test_access_timeout(http, service):
    assert_error(await post(http(**MAPPED), "/api/test/model/method"), 404, errors.CODE_TIMEOUT)
    await service.get_request("access.test.model")
    await service.assert_no_request()


async def respond_call(service, reply: bytes) -> None:
    service.auto("access.test.model", {"result": FULL})

    async def respond(req):
        await req.respond_raw(reply)

    service.auto("call.test.model.method", respond)


@pytest.mark.parametrize(
    ("reply", "status", "code"),
    [
        (b'{"error":{"code":"system.invalidParams","message":"x"}}', 400, errors.CODE_INVALID_PARAMS),
        (b'{"error":{"code":"system.methodNotFound","message":"x"}}', 404, errors.CODE_METHOD_NOT_FOUND),
        (b'{"error":{"code":"system.accessDenied","message":"x"}}', 401, errors.CODE_ACCESS_DENIED),
        (b'{"error":{"code":"custom.thing","message":"Custom"}}', 400, "custom.thing"),
        (b'{"resource":"test.model"}', 500, errors.CODE_INTERNAL_ERROR),
        (b'{"resource":{}}', 500, errors.CODE_INTERNAL_ERROR),
        (b'{"resource":{"rid":42}}', 500, errors.CODE_INTERNAL_ERROR),
        (b'{"resource":{"rid":"test..model"}}', 500, errors.CODE_INTERNAL_ERROR),
        (b"{]", 500, errors.CODE_INTERNAL_ERROR),
        (b"{}", 500, errors.CODE_INTERNAL_ERROR),
    ],
)
async def test_call_errors(http, service, reply, status, code):
    await respond_call(service, reply)
    assert_error(await post(http(), "/api/test/model/method"), status, code)


@pytest.mark.parametrize(
    ("reply", "body"),
    [(b'{"result":"zoo"}', "zoo"), (b'{"result":[1,{"a":false}]}', [1, {"a": False}]), (b'{"result":0}', 0)],
)
async def test_call_result_is_the_body(http, service, reply, body):
    await respond_call(service, reply)
    response = await post(http(), "/api/test/model/method")
    assert (response.status_code, response.json()) == (200, body)
    assert response.headers["content-type"] == "application/json; charset=utf-8"


async def test_null_result_is_204(http, service):
    await respond_call(service, b'{"result":null}')
    response = await post(http(), "/api/test/model/method")
    assert (response.status_code, response.content) == (204, b"")
    assert "content-type" not in response.headers


async def test_resource_response_is_a_location(http, service):
    await respond_call(service, b'{"resource":{"rid":"test.model"}}')
    response = await post(http(), "/api/test/model/method")
    assert (response.status_code, response.content) == (200, b"")
    assert response.headers["location"] == "/api/test/model"
    await service.assert_no_request()  # the resource is neither fetched nor subscribed


async def test_call_timeout(http, service):
    service.auto("access.test.model", {"result": FULL})
    assert_error(await post(http(**MAPPED), "/api/test/model/method"), 404, errors.CODE_TIMEOUT)


async def test_call_location_keeps_query_escaped(http, service):
    service.auto("access.test.model", {"result": FULL})
    service.auto("call.test.model.method", {"resource": {"rid": "test.item?id=1"}})
    response = await post(http(), "/api/test/model/method")
    assert response.headers["location"] == "/api/test/item%3Fid=1"


@pytest.mark.parametrize(
    ("reply", "status", "location"),
    [
        ({"result": {"rid": "test.model"}}, 200, "/api/test/model"),
        ({"resource": {"rid": "test.model"}}, 200, "/api/test/model"),
        ({"result": {"rid": "test..model"}}, 500, None),
        ({"result": {"rid": "test.model", "extra": 1}}, 200, None),
    ],
)
async def test_legacy_new(http, service, reply, status, location):
    service.auto("access.test.collection", {"result": FULL})
    service.auto("call.test.collection.new", reply)
    response = await post(http(), "/api/test/collection/new", b'{"value":42}')
    assert response.status_code == status
    assert response.headers.get("location") == location


INVALID_URLS = [
    "/api/",
    "/api/action",
    "/api/test.model/action",
    "/api/test/model/action/",
    "/api/test//model/action",
    "/api/test/model/%C3%A4ction",
    "/api/test/m%C3%A5del/action",
]


@pytest.mark.parametrize("url", INVALID_URLS)
async def test_invalid_urls(http, service, url):
    assert_error(await post(http(), url), 404, errors.CODE_NOT_FOUND, "Not found")
    await service.assert_no_request(0)


@pytest.mark.parametrize("body", [b"{]", b"not json", b'{"a":1} x', b"\xff"])
async def test_body_that_is_not_json(http, service, body):
    response = await post(http(), "/api/test/model/method", body)
    assert_error(response, 400, errors.CODE_BAD_REQUEST)
    assert response.json()["message"].startswith("Error decoding request body: ")
    await service.assert_no_request()


async def test_body_over_the_limit(http, service):
    client = http(maxBodySize=16)
    response = await post(client, "/api/test/model/method", b'{"v":"' + b"x" * 20 + b'"}')
    assert_error(response, 413, errors.CODE_BAD_REQUEST, "Request body too large: more than 16 bytes")

    async def chunks():
        yield b'{"v":"'
        yield b"x" * 20 + b'"}'

    response = await client.post("/api/test/model/method", content=chunks())
    assert_error(response, 413, errors.CODE_BAD_REQUEST)
    await service.assert_no_request()
    service.auto("access.test.model", {"result": FULL})
    service.auto("call.test.model.method", {"result": None})
    assert (await post(client, "/api/test/model/method", b'{"v":"xxxxxxxx"}')).status_code == 204


async def test_long_rid_is_414(http, service):
    assert_error(
        await post(http(), "/api/test/" + "x" * 10000 + "/method"), 414, errors.CODE_SUBJECT_TOO_LONG
    )


async def test_long_method_is_414_after_access(http, service):
    service.auto("access.test", {"result": FULL})
    assert_error(await post(http(), "/api/test/" + "x" * 10000), 414, errors.CODE_SUBJECT_TOO_LONG)


async def test_long_query_is_fine(http, service):
    query = "q=" + "x" * 10000
    service.auto("access.test.model", {"result": FULL})
    pending = asyncio.ensure_future(post(http(), "/api/test/model/method?" + query))
    call = await service.get_request("call.test.model.method")
    assert call.data["query"] == query
    await call.respond_result(SUCCESS)
    assert (await pending).json() == SUCCESS
