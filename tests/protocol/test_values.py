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


def _decoded(payload: bytes, allow_resource: bool = False) -> tuple:
    """A decoded response as plain data: (result, resource, error as a dict, meta)."""
    r = decode_response(payload, allow_resource)
    return r.result, r.resource, None if r.error is None else r.error.to_dict(), r.meta


def _internal(message: str) -> tuple:
    return None, None, {"code": errors.CODE_INTERNAL_ERROR, "message": f"Internal error: {message}"}, None


@pytest.mark.parametrize(
    "payload,expected",
    [
        (b'{"result":null}', (None, None, None, None)),
        (b' {"result":{"a":1}} ', ({"a": 1}, None, None, None)),
        (b'{"result":1,"meta":{"status":201}}', (1, None, None, {"status": 201})),
        (b'{"result":1,"meta":[]}', (1, None, None, None)),
        (b'{"error":{"code":"x.y","message":"m"}}', (None, None, {"code": "x.y", "message": "m"}, None)),
        (
            b'{"error":{"code":"x.y","message":"m","data":[1]},"meta":{"status":400}}',
            (None, None, {"code": "x.y", "message": "m", "data": [1]}, {"status": 400}),
        ),
        (b'{"error":{"message":"m"}}', (None, None, {"code": "", "message": "m"}, None)),
        (
            b'{"error":{"code":1}}',
            _internal("invalid service response: error code and message must be strings"),
        ),
        (b'{"error":[]}', _internal("invalid service response: error is not an object")),
        (b"{}", _internal("response missing result")),
        (b"[1]", _internal("invalid service response")),
        (b'{"resource":{"rid":"a.b"}}', _internal("response missing result")),
    ],
)
def test_decode_response(payload, expected):
    assert _decoded(payload) == expected


def test_decode_response_that_is_not_json():
    result, resource, error, meta = _decoded(b"nope")
    assert (result, resource, meta) == (None, None, None)
    assert error["code"] == errors.CODE_INTERNAL_ERROR
    assert error["message"].startswith("Internal error: invalid service response: ")


def test_decode_resource_response():
    assert _decoded(b'{"resource":{"rid":"a.b"}}', allow_resource=True) == (None, "a.b", None, None)
    assert _decoded(b'{"resource":{"rid":"a..b"}}', allow_resource=True) == _internal(
        "invalid service response"
    )
    assert _decoded(b'{"resource":"a.b"}', allow_resource=True) == _internal("invalid service response")
