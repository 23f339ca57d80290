"""Auth requests: no access check, the request's header/host/uri, token events before the reply."""

from __future__ import annotations

import pytest

from tests.gateway.common import TIMEOUT, respond, respond_get, result

INVALID_PARAMS = {"code": "system.invalidParams", "message": "Invalid parameters"}


@pytest.mark.parametrize(
    ("response", "expected", "params"),
    [
        (result({"foo": "bar"}), {"payload": {"foo": "bar"}}, {"value": 42}),
        (result({"foo": "bar"}), {"payload": {"foo": "bar"}}, None),
        ({"error": INVALID_PARAMS}, INVALID_PARAMS, None),
        (result(None), {"payload": None}, None),
        (None, TIMEOUT, None),
        (b'{"broken":JSON}', "system.internalError", None),
        (b"{}", "system.internalError", None),
        (
            b'{"result":{"foo":"bar"},"error":{"code":"system.custom","message":"Custom"}}',
            "system.custom",
            None,
        ),
        (b'{"error":[]}', "system.internalError", None),
        (b'{"error":{"message":"missing code"}}', "", None),
        (b'{"error":{"code":12,"message":"integer code"}}', "system.internalError", None),
    ],
)
async def test_auth(client, gateway, service, params, response, expected):
    pending = client.send("auth.test.model.method", params)
    req = await service.get_request("auth.test.model.method")
    data = req.data
    assert data["token"] is None and data["params"] == params and isinstance(data["cid"], str)
    assert data["host"] == f"127.0.0.1:{gateway.port}"
    assert data["uri"] == "/"
    assert data["header"]["Upgrade"] == ["websocket"]
    assert data["remoteAddr"].startswith("127.0.0.1:")
    assert "isHttp" not in data
    await respond(req, response)
    msg = await pending
    if isinstance(expected, str):
        assert msg["error"]["code"] == expected
    elif "code" in expected:
        assert msg["error"] == expected
    else:
        assert msg["result"] == expected


async def test_auth_with_cid_placeholder(mem_client, mem_service):
    pending = mem_client.send("auth.test.{cid}.model.login", None)
    req = await mem_service.get_request()
    assert req.subject == f"auth.test.{req.data['cid']}.model.login"
    await req.respond_result("ok")
    assert await pending.result() == {"payload": "ok"}


async def test_auth_token_event_before_reply_applies_to_next_request(mem_client, mem_service):
    pending = mem_client.send("auth.test.auth.login", {"user": "a"})
    req = await mem_service.get_request("auth.test.auth.login")
    await mem_service.publish_token(req.data["cid"], {"user": "a"})
    await req.respond_result(None)
    await pending.result()
    pending = mem_client.send("call.test.model.method", None)
    access = await mem_service.get_request("access.test.model")
    assert access.data["token"] == {"user": "a"}
    await access.respond_access(call="*")
    await (await mem_service.get_request("call.test.model.method")).respond_result(1)
    assert await pending.result() == {"payload": 1}


async def test_auth_with_resource_response(mem_client, mem_service):
    pending = mem_client.send("auth.test.auth.login", None)
    await (await mem_service.get_request("auth.test.auth.login")).respond_resource("test.model")
    reqs = await mem_service.get_requests(2)
    await respond_get(reqs.get("get.test.model"))
    await respond(reqs.get("access.test.model"), result({"get": True}))
    assert (await pending.result())["rid"] == "test.model"


async def test_auth_long_method_gives_subject_too_long(mem_client, mem_service):
    assert (await mem_client.send("auth.test." + "a" * 10000, None).error())[
        "code"
    ] == "system.subjectTooLong"
    await mem_service.assert_no_request()
