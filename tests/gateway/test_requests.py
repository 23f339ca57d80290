"""Client request framing: invalid methods and RIDs, malformed frames, version negotiation."""

from __future__ import annotations

import json

import pytest

from tests.gateway.common import INVALID_REQUEST, subscribe

INVALID_PARAMS = {"code": "system.invalidParams", "message": "Invalid parameters"}
UNSUPPORTED = {"code": "system.unsupportedProtocol", "message": "Unsupported protocol"}
VERSION = {"protocol": "1.2.3"}

INVALID_METHODS = [
    "",
    "test",
    "new",
    "unknown.test",
    "call.test",
    "call.test.methöd",
    "call.test?foo",
    "call.test.method?foo",
    "auth.test",
    "subscribe..test.model",
    "subscribe.test..model",
    "subscribe.test.model.",
    ".subscribe.test.model",
    "subscribe?foo=bar",
    "subscribe.test\tmodel",
    "subscribe.test\nmodel",
    "subscribe.test model",
    "subscribe.test\ufffdmodel",
    "subscribe.täst.model",
    "subscribe.test.*.model",
    "subscribe.test.>.model",
    "subscribe.test.model.>",
    "get.",
    "unsubscribe.?q",
    "SUBSCRIBE.test.model",
]


@pytest.mark.parametrize("method", INVALID_METHODS)
async def test_invalid_request(client, method):
    assert (await client.send(method).error()) == INVALID_REQUEST


@pytest.mark.parametrize(
    "frame",
    [
        "not json",
        "[]",
        "42",
        '{"method":"version"}',
        '{"id":"1","method":"version"}',
        '{"id":-1,"method":"version"}',
        '{"id":1.5,"method":"version"}',
        '{"id":null,"method":"version"}',
        '{"id":true,"method":"version"}',
        '{"id":18446744073709551616,"method":"version"}',
        '{"id":1,"method":42}',
    ],
)
async def test_malformed_frames_are_dropped_silently(client, frame):
    client.send_raw(frame)
    await client.assert_no_message()
    assert await client.request("version", {"protocol": "1.2.3"}) == {"result": VERSION, "id": 2}


async def test_binary_frames_are_accepted(client):
    pending = client.send_raw(json.dumps({"id": 7, "method": "version"}).encode(), 7)
    assert await pending == {"result": VERSION, "id": 7}


async def test_large_id_is_echoed(client):
    pending = client.send_raw('{"id":18446744073709551615,"method":"version"}', 18446744073709551615)
    assert (await pending)["id"] == 18446744073709551615


async def test_responses_match_ids_when_out_of_order(client, service):
    slow = client.send("call.test.model.slow")
    fast = client.send("call.test.model.fast")
    reqs = await service.get_requests(2)
    for req in reqs.items:
        await req.respond_access(call="*")
    calls = await service.get_requests(2)
    fast_call, slow_call = calls.get("call.test.model.fast"), calls.get("call.test.model.slow")
    await fast_call.respond_result("fast")
    assert await fast.result() == {"payload": "fast"}
    await slow_call.respond_result("slow")
    assert await slow.result() == {"payload": "slow"}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (None, VERSION),
        ({}, VERSION),
        ({"foo": "bar"}, VERSION),
        ({"protocol": ""}, VERSION),
        ({"protocol": None}, VERSION),
        ({"protocol": "1.0.0"}, VERSION),
        ({"protocol": "1.1.0"}, VERSION),
        ({"protocol": "1.999.999"}, VERSION),
        ("", INVALID_PARAMS),
        ("1.0.0", INVALID_PARAMS),
        (["1.0.0"], INVALID_PARAMS),
        ({"protocol": 1.0}, INVALID_PARAMS),
        ({"protocol": "1.0"}, INVALID_PARAMS),
        ({"protocol": "1.2.3.4"}, INVALID_PARAMS),
        ({"protocol": "v1.0.0"}, INVALID_PARAMS),
        ({"protocol": "1.0.1000"}, INVALID_PARAMS),
        ({"protocol": "1.1000.0"}, INVALID_PARAMS),
        ({"protocol": "1.x.0"}, INVALID_PARAMS),
        ({"protocol": "1..0"}, INVALID_PARAMS),
        ({"protocol": "1.2.٣"}, INVALID_PARAMS),
        ({"protocol": "+1.2.3"}, VERSION),
        ({"protocol": "1.-5.0"}, UNSUPPORTED),
        ({"protocol": "0.0.0"}, UNSUPPORTED),
        ({"protocol": "2.0.0"}, UNSUPPORTED),
        ({"protocol": "0.999.999"}, UNSUPPORTED),
    ],
)
async def test_version(legacy_client, params, expected):
    msg = await legacy_client.request("version", params)
    if "code" in expected:
        assert msg["error"] == expected
    else:
        assert msg["result"] == expected


@pytest.mark.parametrize(
    ("protocol", "call_result", "soft"),
    [
        (None, {"foo": 1}, "test.model"),
        ("", {"foo": 1}, "test.model"),
        ("1.1.1", {"foo": 1}, "test.model"),
        ("1.2.0", {"payload": {"foo": 1}}, "test.model"),
        ("1.2.1", {"payload": {"foo": 1}}, {"rid": "test.model", "soft": True}),
        ("1.2.3", {"payload": {"foo": 1}}, {"rid": "test.model", "soft": True}),
        ("1.5.0", {"payload": {"foo": 1}}, {"rid": "test.model", "soft": True}),
    ],
)
async def test_behaviour_per_protocol_version(connect, service, protocol, call_result, soft):
    c = await connect(version=None)
    if protocol is not None:
        await c.request("version", {"protocol": protocol})
    result = await subscribe(c, service, "test.model.soft")
    assert result["models"]["test.model.soft"]["child"] == soft
    pending = c.send("call.test.model.soft.method")
    await (await service.get_request("call.test.model.soft.method")).respond_result({"foo": 1})
    assert await pending.result() == call_result


async def test_version_can_change_during_connection(connect, service):
    c = await connect(version="1.2.3")
    pending = c.send("call.test.model.method")
    await (await service.get_request("access.test.model")).respond_access(call="*")
    await (await service.get_request("call.test.model.method")).respond_result(1)
    assert await pending.result() == {"payload": 1}
    await c.request("version", {"protocol": "1.1.0"})
    pending = c.send("call.test.model.method")
    await (await service.get_request("access.test.model")).respond_access(call="*")
    await (await service.get_request("call.test.model.method")).respond_result(1)
    assert await pending.result() == 1
