"""Decoders of what services send the gateway: get and query replies, query, change, add, remove and
token events."""

from typing import Any

import orjson
import pytest

from res_protocol import DELETE_ACTION, InvalidValue, ResError, errors
from res_protocol.codec import (
    COLLECTION,
    MODEL,
    ChangeEvent,
    GetResult,
    QueryResult,
    SystemReset,
    TokenReset,
    decode_add_event,
    decode_change_event,
    decode_get_response,
    decode_get_result,
    decode_query_event,
    decode_query_response,
    decode_remove_event,
    decode_system_reset,
    decode_token_event,
    decode_token_reset,
)


def reply(body: Any) -> bytes:
    return orjson.dumps(body)


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (
            {"model": {"a": 1, "r": {"rid": "x.y", "soft": False}}},
            GetResult(MODEL, {"a": 1, "r": {"rid": "x.y"}}),
        ),
        ({"collection": [{"data": 2}, "b"]}, GetResult(COLLECTION, [2, "b"])),
        ({"model": {}, "query": "q=1"}, GetResult(MODEL, {}, "q=1")),
        ({"collection": [], "query": None}, GetResult(COLLECTION, [])),
    ],
)
def test_a_get_result_is_normalized(result: Any, expected: GetResult) -> None:
    assert decode_get_result(result) == expected
    assert decode_get_response(reply({"result": result})) == expected


@pytest.mark.parametrize(
    ("result", "message"),
    [
        ({}, "invalid get response"),
        ({"model": {}, "collection": []}, "invalid get response"),
        ([], "invalid get response"),
        ({"model": {"a": [1]}}, "invalid get response: arrays must be wrapped as data values"),
        ({"collection": "x"}, "invalid get response: "),
        ({"model": {}, "query": 1}, "invalid query in get response"),
    ],
)
def test_a_malformed_get_result_is_an_internal_error(result: Any, message: str) -> None:
    with pytest.raises(ResError) as raised:
        decode_get_result(result)
    assert raised.value.code == errors.CODE_INTERNAL_ERROR
    assert raised.value.message.startswith(f"Internal error: {message}")


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (reply({"error": {"code": "system.notFound", "message": "Not found"}}), errors.CODE_NOT_FOUND),
        (b"{not json", errors.CODE_INTERNAL_ERROR),
        (reply({}), errors.CODE_INTERNAL_ERROR),
        (reply({"result": {"model": None}}), errors.CODE_INTERNAL_ERROR),
    ],
)
def test_a_get_reply_without_a_resource_raises_its_error(payload: bytes, code: str) -> None:
    with pytest.raises(ResError) as raised:
        decode_get_response(payload)
    assert raised.value.code == code


def test_a_query_event_names_the_subject_to_ask() -> None:
    assert decode_query_event(reply({"subject": "_INBOX.1"})) == "_INBOX.1"


@pytest.mark.parametrize(
    "payload", [b"", b"x", reply({}), reply({"subject": ""}), reply({"subject": 4}), reply("s")]
)
def test_a_query_event_without_a_subject_is_invalid(payload: bytes) -> None:
    with pytest.raises(ResError) as raised:
        decode_query_event(payload)
    assert raised.value.code == errors.CODE_INTERNAL_ERROR


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        ({}, QueryResult()),
        ({"events": None}, QueryResult()),
        (
            {"events": [{"event": "change", "data": {"values": {"a": 1}}}, {"event": "delete"}]},
            QueryResult(events=[("change", {"values": {"a": 1}}), ("delete", None)]),
        ),
        ({"model": {"a": {"data": 1}}}, QueryResult(resource=GetResult(MODEL, {"a": 1}))),
        ({"collection": []}, QueryResult(resource=GetResult(COLLECTION, []))),
    ],
)
def test_a_query_reply_is_a_resource_or_events(result: Any, expected: QueryResult) -> None:
    assert decode_query_response(reply({"result": result})) == expected


@pytest.mark.parametrize(
    "result",
    [
        "x",
        {"events": "x"},
        {"events": [{"data": 1}]},
        {"events": [{"event": "change"}, 1]},
        {"model": {}, "events": []},
        {"model": {}, "collection": []},
    ],
)
def test_a_malformed_query_reply_is_an_internal_error(result: Any) -> None:
    with pytest.raises(ResError) as raised:
        decode_query_response(reply({"result": result}))
    assert raised.value.code == errors.CODE_INTERNAL_ERROR


def test_a_query_reply_error_is_the_services() -> None:
    with pytest.raises(ResError) as raised:
        decode_query_response(reply({"error": {"code": "system.notFound", "message": "Not found"}}))
    assert raised.value.code == errors.CODE_NOT_FOUND


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"values": {"a": {"data": 1}, "b": {"action": "delete"}}},
            ChangeEvent({"a": 1, "b": DELETE_ACTION}),
        ),
        ({"values": {}}, ChangeEvent({})),
        ({"a": {"rid": "x"}}, ChangeEvent({"a": {"rid": "x"}}, legacy=True)),
        ({"values": {"a": 1}, "b": 2}, None),
    ],
)
def test_a_change_event_is_normalized(data: Any, expected: ChangeEvent | None) -> None:
    if expected is None:
        with pytest.raises(InvalidValue):
            decode_change_event(data)
        return
    change = decode_change_event(data)
    assert change == expected
    assert all(v is DELETE_ACTION for v in change.values.values() if v == DELETE_ACTION)


@pytest.mark.parametrize("data", [None, [], "x", {"values": {"a": [1]}}, {"a": {"action": "other"}}])
def test_a_malformed_change_event_is_invalid(data: Any) -> None:
    with pytest.raises(InvalidValue):
        decode_change_event(data)


def test_add_and_remove_events() -> None:
    assert decode_add_event({"idx": 2, "value": {"rid": "a.b", "soft": False}}) == (2, {"rid": "a.b"})
    assert decode_remove_event({"idx": 0}) == 0


@pytest.mark.parametrize(
    "data",
    [None, {}, {"idx": "1", "value": 1}, {"idx": True, "value": 1}, {"idx": 1}, {"idx": 1, "value": [1]}],
)
def test_a_malformed_add_event_is_invalid(data: Any) -> None:
    with pytest.raises(InvalidValue):
        decode_add_event(data)


@pytest.mark.parametrize("data", [None, [0], {}, {"idx": 1.0}, {"idx": False}])
def test_a_malformed_remove_event_is_invalid(data: Any) -> None:
    with pytest.raises(InvalidValue):
        decode_remove_event(data)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (reply({"token": {"user": 1}, "tid": "t1"}), ({"user": 1}, "t1")),
        (reply({"token": None}), (None, None)),
        (reply({"token": "x", "tid": 5}), ("x", None)),
    ],
)
def test_a_token_event(payload: bytes, expected: tuple[Any, str | None]) -> None:
    assert decode_token_event(payload) == expected


@pytest.mark.parametrize("payload", [b"", b"{", reply([1]), reply("token")])
def test_a_malformed_token_event_is_invalid(payload: bytes) -> None:
    with pytest.raises(InvalidValue):
        decode_token_event(payload)


def test_a_system_reset_event_compiles_its_patterns() -> None:
    event = decode_system_reset(reply({"resources": ["a.>", "bad..", 3], "access": ["b.*"]}))
    assert [p.matches("a.x.y") for p in event.resources] == [True]
    assert [p.matches("b.x") for p in event.access] == [True]
    assert decode_system_reset(b"") == SystemReset([], [])
    assert decode_system_reset(reply({"resources": "a.>"})) == SystemReset([], [])


def test_a_token_reset_event_names_a_subject_and_the_token_ids() -> None:
    assert decode_token_reset(reply({"subject": "auth.s.renew", "tids": ["a", 1, "b"]})) == TokenReset(
        "auth.s.renew", {"a", "b"}
    )
    assert decode_token_reset(reply({"subject": "s", "tids": "a"})) == TokenReset("s", set())


@pytest.mark.parametrize("payload", [b"", b"[", reply([]), reply({"tids": ["a"]}), reply({"subject": ""})])
def test_a_token_reset_event_without_a_subject_is_invalid(payload: bytes) -> None:
    with pytest.raises(InvalidValue):
        decode_token_reset(payload)


@pytest.mark.parametrize("payload", [b"{", reply(["a.>"])])
def test_a_malformed_system_reset_event_is_invalid(payload: bytes) -> None:
    with pytest.raises(InvalidValue):
        decode_system_reset(payload)
