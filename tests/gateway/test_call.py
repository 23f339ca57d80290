"""Call requests: access first, then the call; results, resource responses and invalid replies."""

from __future__ import annotations

import pytest

from tests.gateway.common import (
    ACCESS_DENIED,
    INTERNAL_ERROR,
    NOT_FOUND,
    TIMEOUT,
    error,
    respond,
    respond_get,
    result,
    subscribe,
    value,
)
from tests.gateway.inprocess import REQUEST_TIMEOUT

INVALID_PARAMS = {"code": "system.invalidParams", "message": "Invalid parameters"}
CUSTOM = {"code": "custom.error", "message": "Custom error"}
FULL = result({"get": True, "call": "*"})
NO_REQUEST = "no request"


CALL_CASES = [
    # (access response, call response, expected result or error)
    (FULL, result({"foo": "bar"}), {"payload": {"foo": "bar"}}),
    (result({"get": True, "call": "method"}), result({"foo": "bar"}), {"payload": {"foo": "bar"}}),
    (result({"get": True, "call": "foo,method"}), result(42), {"payload": 42}),
    (result({"get": True, "call": "foo,bar"}), NO_REQUEST, ACCESS_DENIED),
    (result({"get": True, "call": "foo, method"}), NO_REQUEST, ACCESS_DENIED),
    (result({"get": True}), NO_REQUEST, ACCESS_DENIED),
    (result({"call": "*"}), result(None), {"payload": None}),
    (None, NO_REQUEST, TIMEOUT),
    (error(ACCESS_DENIED), NO_REQUEST, ACCESS_DENIED),
    (error(CUSTOM), NO_REQUEST, CUSTOM),
    (FULL, error(INVALID_PARAMS), INVALID_PARAMS),
    (FULL, None, TIMEOUT),
    (result({"get": "invalid"}), NO_REQUEST, "system.internalError"),
    (b'{"broken":JSON}', NO_REQUEST, "system.internalError"),
    (FULL, b'{"broken":JSON}', "system.internalError"),
    (FULL, b"{}", "system.internalError"),
    (b'\r\n\t {"result":\r\n\t {"get":true,"call":"*"}}\r\n\t ', result("ok"), {"payload": "ok"}),
    (FULL, b'{"result":{"foo":"bar"},"error":{"code":"system.custom","message":"Custom"}}', "system.custom"),
    (FULL, b'{"error":[]}', "system.internalError"),
    (FULL, b'{"error":{"message":"missing code"}}', ""),
    (FULL, b'{"error":{"code":12,"message":"integer code"}}', "system.internalError"),
    (FULL, b'{"resource":"test.model"}', "system.internalError"),
    (FULL, b'{"resource":{}}', "system.internalError"),
    (FULL, b'{"resource":{"rid":42}}', "system.internalError"),
    (FULL, b'{"resource":{"rid":"test..model"}}', "system.internalError"),
]


def check(msg: dict, expected) -> None:
    if isinstance(expected, str):
        assert msg["error"]["code"] == expected, msg
    elif isinstance(expected, dict) and "code" in expected:
        assert msg["error"] == expected, msg
    else:
        assert msg["result"] == expected, msg


@pytest.mark.parametrize(
    ("access", "call", "expected", "params"),
    [(*c, None) for c in CALL_CASES] + [(*CALL_CASES[0], {"value": 42})],
)
async def test_call(mem_client, mem_service, params, access, call, expected):
    pending = mem_client.send("call.test.model.method", params)
    req = await mem_service.get_request("access.test.model")
    assert set(req.data) == {"cid", "token"} and req.data["token"] is None
    await respond(req, access)
    if call is not NO_REQUEST:
        req = await mem_service.get_request("call.test.model.method")
        assert req.data == {"cid": req.data["cid"], "token": None, "params": params}
        await respond(req, call)
    check(await pending, expected)
    await mem_service.assert_no_request(0.05)


async def test_call_on_subscribed_resource_uses_cached_access(mem_client, mem_service):
    await subscribe(mem_client, mem_service, "test.model")
    for n in range(2):
        pending = mem_client.send("call.test.model.method", {"n": n})
        req = await mem_service.get_request("call.test.model.method")
        assert req.data["params"] == {"n": n}
        await req.respond_result(n)
        assert await pending.result() == {"payload": n}


@pytest.mark.parametrize(
    ("first", "first_expected", "second", "second_expected"),
    [
        (result({"get": True}), ACCESS_DENIED, NO_REQUEST, ACCESS_DENIED),
        (error(ACCESS_DENIED), ACCESS_DENIED, NO_REQUEST, ACCESS_DENIED),
        (None, TIMEOUT, FULL, {"payload": "ok"}),
        (None, TIMEOUT, None, TIMEOUT),
        (error(INTERNAL_ERROR), INTERNAL_ERROR, FULL, {"payload": "ok"}),
        (error(INTERNAL_ERROR), INTERNAL_ERROR, error(ACCESS_DENIED), ACCESS_DENIED),
    ],
)
async def test_call_after_access_error(
    mem_client, mem_service, first, first_expected, second, second_expected
):
    """Only results and accessDenied are cached on an (indirect) subscription; other errors ask again."""
    await subscribe(mem_client, mem_service, "test.model.parent", "test.model")
    for access, expected in ((first, first_expected), (second, second_expected)):
        pending = mem_client.send("call.test.model.method", None)
        if access is not NO_REQUEST:
            await respond(await mem_service.get_request("access.test.model"), access)
        if isinstance(expected, dict) and "payload" in expected:
            await (await mem_service.get_request("call.test.model.method")).respond_result("ok")
        check(await pending, expected)


MODEL_RESPONSE = {"rid": "test.model", "models": {"test.model": value("test.model")}}


@pytest.mark.parametrize(
    ("get", "access", "expected"),
    [
        ("table", FULL, MODEL_RESPONSE),
        (error(CUSTOM), FULL, {"rid": "test.model", "errors": {"test.model": CUSTOM}}),
        (None, FULL, {"rid": "test.model", "errors": {"test.model": TIMEOUT}}),
        ("table", result({"get": False}), {"rid": "test.model", "errors": {"test.model": ACCESS_DENIED}}),
        ("table", error(CUSTOM), {"rid": "test.model", "errors": {"test.model": CUSTOM}}),
        ("table", error(ACCESS_DENIED), {"rid": "test.model", "errors": {"test.model": ACCESS_DENIED}}),
        ("table", None, {"rid": "test.model", "errors": {"test.model": TIMEOUT}}),
    ],
)
async def test_call_with_resource_response(mem_client, mem_service, get, access, expected):
    pending = mem_client.send("call.test.collection.create", {"value": 42})
    await respond(await mem_service.get_request("access.test.collection"), FULL)
    await (await mem_service.get_request("call.test.collection.create")).respond_resource("test.model")
    reqs = await mem_service.get_requests(2)
    if get == "table":
        await respond_get(reqs.get("get.test.model"))
    else:
        await respond(reqs.get("get.test.model"), get)
    await respond(reqs.get("access.test.model"), access)
    assert await pending.result() == expected


async def test_call_resource_response_subscribes_resource(mem_client, mem_service):
    pending = mem_client.send("call.test.collection.create", None)
    await respond(await mem_service.get_request("access.test.collection"), FULL)
    await (await mem_service.get_request("call.test.collection.create")).respond_resource("test.model")
    reqs = await mem_service.get_requests(2)
    await respond_get(reqs.get("get.test.model"))
    await respond(reqs.get("access.test.model"), FULL)
    await pending.result()
    await mem_service.publish_event("test.model", "custom", {"foo": "bar"})
    assert await mem_client.get_event() == {"event": "test.model.custom", "data": {"foo": "bar"}}
    assert await mem_client.request("unsubscribe.test.model") == {"id": mem_client._next_id - 1}


async def test_call_resource_response_of_subscribed_resource_returns_no_resources(mem_client, mem_service):
    await subscribe(mem_client, mem_service, "test.model")
    pending = mem_client.send("call.test.model.clone", None)
    await (await mem_service.get_request("call.test.model.clone")).respond_resource("test.model")
    assert await pending.result() == {"rid": "test.model"}


async def test_legacy_call_returns_raw_result_and_unsubscribed_rid(mem_legacy_client, mem_service):
    pending = mem_legacy_client.send("call.test.model.method", {"a": 1})
    await respond(await mem_service.get_request("access.test.model"), FULL)
    await (await mem_service.get_request("call.test.model.method")).respond_result({"foo": "bar"})
    assert await pending.result() == {"foo": "bar"}
    pending = mem_legacy_client.send("call.test.model.create", None)
    await respond(await mem_service.get_request("access.test.model"), FULL)
    await (await mem_service.get_request("call.test.model.create")).respond_resource("test.other")
    assert await pending.result() == {"rid": "test.other"}
    await mem_service.assert_no_request()


async def test_call_with_cid_placeholder(mem_client, mem_service):
    pending = mem_client.send("call.test.{cid}.model.method", {"foo": "bar"})
    req = await mem_service.get_request()
    cid = req.data["cid"]
    assert req.subject == f"access.test.{cid}.model"
    await respond(req, FULL)
    req = await mem_service.get_request(f"call.test.{cid}.model.method")
    await req.respond_result("zoo")
    assert await pending.result() == {"payload": "zoo"}


async def test_call_with_query(mem_client, mem_service):
    pending = mem_client.send("call.test.model?q=1.2.method", None)
    req = await mem_service.get_request("access.test.model")
    assert req.data["query"] == "q=1.2"
    await respond(req, FULL)
    req = await mem_service.get_request("call.test.model.method")
    assert req.data["query"] == "q=1.2"
    await req.respond_result(1)
    assert await pending.result() == {"payload": 1}


async def test_call_long_method_gives_subject_too_long_after_access(mem_client, mem_service):
    pending = mem_client.send("call.test." + "a" * 10000, None)
    await respond(await mem_service.get_request("access.test"), FULL)
    assert await pending.error() == {"code": "system.subjectTooLong", "message": "Subject too long"}


async def test_call_long_rid_gives_subject_too_long(mem_client, mem_service):
    assert (await mem_client.send("call.test." + "a" * 10000 + ".method", None).error())["code"] == (
        "system.subjectTooLong"
    )
    await mem_service.assert_no_request()


async def test_call_pre_response_extends_timeout(mem_client, mem_service):
    pending = mem_client.send("call.test.model.slow", None)
    await respond(await mem_service.get_request("access.test.model"), FULL)
    req = await mem_service.get_request("call.test.model.slow")
    await req.respond_timeout(int(REQUEST_TIMEOUT * 4000))
    await mem_service.assert_no_request(REQUEST_TIMEOUT * 1.5)  # past the request timeout
    await req.respond_result("late")
    assert await pending.result() == {"payload": "late"}


async def test_call_without_responders_is_not_found_at_once(mem_client):
    pending = mem_client.send("call.nobody.model.method", None)
    assert await pending.error() == NOT_FOUND


async def test_call_response_follows_events_sent_before_it(mem_client, mem_service):
    await subscribe(mem_client, mem_service, "test.model")
    pending = mem_client.send("call.test.model.set", {"string": "bar"})
    req = await mem_service.get_request("call.test.model.set")
    await mem_service.publish_change("test.model", {"string": "bar"})
    await req.respond_result(None)
    # The change event is on the wire before the response
    assert await mem_client.get_event() == {
        "event": "test.model.change",
        "data": {"values": {"string": "bar"}},
    }
    assert await pending.result() == {"payload": None}


async def test_call_completes_when_its_resource_is_unsubscribed_meanwhile(mem_client, mem_service):
    await subscribe(mem_client, mem_service, "test.model.parent", "test.model")
    pending = mem_client.send("call.test.model.method")
    access = await mem_service.get_request("access.test.model")
    await mem_client.request("unsubscribe.test.model.parent")
    await access.respond_access(call="*")
    await (await mem_service.get_request("call.test.model.method")).respond_result("done")
    assert await pending.result() == {"payload": "done"}
