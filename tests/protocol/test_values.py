import pytest

from res_protocol import InvalidValue, decode_response, errors, normalize_value


@pytest.mark.parametrize(
    "value,expected",
    [
        (12, 12),
        ("s", "s"),
        (None, None),
        ({"rid": "a.b"}, {"rid": "a.b"}),
        ({"rid": "a.b", "soft": False}, {"rid": "a.b"}),
        ({"rid": "a.b", "soft": True}, {"rid": "a.b", "soft": True}),
        ({"data": 12}, 12),
        ({"data": None}, None),
        ({"data": {"x": [1]}}, {"data": {"x": [1]}}),
    ],
)
def test_normalize_value(value, expected):
    assert normalize_value(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        [1],
        {"x": 1},
        {"rid": ""},
        {"rid": "a..b"},
        {"rid": "a", "data": 1},
        {"rid": "a", "soft": 1},
        {"action": "delete"},
    ],
)
def test_invalid_values(value):
    with pytest.raises(InvalidValue):
        normalize_value(value)


def test_delete_action_only_where_allowed():
    assert normalize_value({"action": "delete"}, allow_delete=True) == {"action": "delete"}
    with pytest.raises(InvalidValue):
        normalize_value({"action": "other"}, allow_delete=True)


@pytest.mark.parametrize(
    "payload,check",
    [
        (b'{"result":null}', lambda r: r.error is None and r.result is None),
        (b' {"result":{"a":1}} ', lambda r: r.result == {"a": 1}),
        (b'{"error":{"code":"x.y","message":"m"}}', lambda r: r.error.code == "x.y"),
        (b'{"error":{"message":"m"}}', lambda r: r.error.code == ""),
        (b'{"error":{"code":1}}', lambda r: r.error.code == errors.CODE_INTERNAL_ERROR),
        (b'{"error":[]}', lambda r: r.error.code == errors.CODE_INTERNAL_ERROR),
        (b"{}", lambda r: r.error.message == "Internal error: response missing result"),
        (b"nope", lambda r: r.error.code == errors.CODE_INTERNAL_ERROR),
    ],
)
def test_decode_response(payload, check):
    assert check(decode_response(payload))


def test_decode_resource_response():
    assert decode_response(b'{"resource":{"rid":"a.b"}}', allow_resource=True).resource == "a.b"
    assert decode_response(b'{"resource":{"rid":"a..b"}}', allow_resource=True).error is not None
    assert decode_response(b'{"resource":{"rid":"a.b"}}').error is not None
