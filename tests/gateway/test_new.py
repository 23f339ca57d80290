"""Deprecated new requests: sent as call.<rid>.new, answered with a resource that gets subscribed."""

from __future__ import annotations

import pytest

from tests.gateway.common import ACCESS_DENIED, respond, respond_get, result, value

FULL = result({"get": True, "call": "*"})
INVALID_PARAMS = {"code": "system.invalidParams", "message": "Invalid parameters"}
MODEL_RESPONSE = {"rid": "test.model", "models": {"test.model": value("test.model")}}


@pytest.mark.parametrize("version", ["1.2.3", None])
@pytest.mark.parametrize(
    ("access", "response"),
    [
        (FULL, result({"rid": "test.model"})),
        (result({"get": True, "call": "new"}), {"resource": {"rid": "test.model"}}),
        (result({"get": True, "call": "foo,new"}), result({"rid": "test.model"})),
    ],
)
async def test_new(mem_connect, mem_service, version, access, response):
    c = await mem_connect(version=version)
    pending = c.send("new.test.collection", {"value": 42})
    req = await mem_service.get_request("access.test.collection")
    assert "isHttp" not in req.data
    await respond(req, access)
    req = await mem_service.get_request("call.test.collection.new")
    assert req.data["params"] == {"value": 42}
    await respond(req, response)
    reqs = await mem_service.get_requests(2)
    await respond_get(reqs.get("get.test.model"))
    await reqs.get("access.test.model").respond_access(get=True)
    assert await pending.result() == MODEL_RESPONSE
    await mem_service.publish_event("test.model", "custom", {"a": 1})
    assert (await c.get_event())["event"] == "test.model.custom"


@pytest.mark.parametrize(
    ("access", "response", "expected"),
    [
        (result({"get": True, "call": "foo,bar"}), "no request", ACCESS_DENIED),
        (result({"get": True}), "no request", ACCESS_DENIED),
        (None, "no request", "system.timeout"),
        (FULL, {"error": INVALID_PARAMS}, INVALID_PARAMS),
        (FULL, None, "system.timeout"),
        (FULL, b'{"broken":JSON}', "system.internalError"),
        (FULL, b"42", "system.internalError"),
        (FULL, b"{}", "system.internalError"),
        (FULL, result({}), "system.internalError"),
        (FULL, result({"rid": ""}), "system.internalError"),
        (FULL, result({"rid": "?q=foo"}), "system.internalError"),
        (FULL, result({"rid": "test\tmodel"}), "system.internalError"),
        (FULL, result({"rid": "test model"}), "system.internalError"),
        (FULL, result({"rid": 42}), "system.internalError"),
        (FULL, result({"rid": "test.model", "foo": 42}), "system.internalError"),
        (FULL, result("test.model"), "system.internalError"),
        (FULL, b'{"error":{"code":12,"message":"integer code"}}', "system.internalError"),
        (FULL, b'{"error":{"message":"missing code"}}', ""),
    ],
)
async def test_new_errors(mem_client, mem_service, access, response, expected):
    pending = mem_client.send("new.test.collection", None)
    await respond(await mem_service.get_request("access.test.collection"), access)
    if response != "no request":
        await respond(await mem_service.get_request("call.test.collection.new"), response)
    error = await pending.error()
    if isinstance(expected, str):
        assert error["code"] == expected
    else:
        assert error == expected
    await mem_service.assert_no_request(0.05)


@pytest.mark.parametrize(
    ("get", "access", "error"),
    [
        ({"error": INVALID_PARAMS}, FULL, INVALID_PARAMS),
        ("table", result({"get": False}), ACCESS_DENIED),
        ("table", {"error": INVALID_PARAMS}, INVALID_PARAMS),
    ],
)
async def test_new_resource_errors_go_in_errors(mem_client, mem_service, get, access, error):
    pending = mem_client.send("new.test.collection", None)
    await respond(await mem_service.get_request("access.test.collection"), FULL)
    await (await mem_service.get_request("call.test.collection.new")).respond_resource("test.model")
    reqs = await mem_service.get_requests(2)
    if get == "table":
        await respond_get(reqs.get("get.test.model"))
    else:
        await respond(reqs.get("get.test.model"), get)
    await respond(reqs.get("access.test.model"), access)
    assert await pending.result() == {"rid": "test.model", "errors": {"test.model": error}}
