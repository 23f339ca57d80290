"""CORS headers and preflight answers (resgate's setCommonHeaders and OPTIONS handling)."""

import pytest

from res_gateway.web.cors import cors, preflight_headers

BOTH = ["http://localhost", "https://resgate.io"]


@pytest.mark.parametrize(
    ("origin", "allow", "credentials", "headers", "allowed"),
    [
        ("http://localhost", ["*"], False, {"Access-Control-Allow-Origin": "*"}, True),
        (None, ["*"], False, {"Access-Control-Allow-Origin": "*"}, True),
        (
            "http://localhost",
            ["http://localhost"],
            False,
            {"Access-Control-Allow-Origin": "http://localhost", "Vary": "Origin"},
            True,
        ),
        (
            "https://RESGATE.io",
            BOTH,
            False,
            {"Access-Control-Allow-Origin": "https://RESGATE.io", "Vary": "Origin"},
            True,
        ),
        (
            "http://example.com",
            BOTH,
            False,
            {"Access-Control-Allow-Origin": "http://localhost", "Vary": "Origin"},
            False,
        ),
        (None, BOTH, False, {}, True),
        ("null", BOTH, False, {"Access-Control-Allow-Origin": "http://localhost", "Vary": "Origin"}, False),
        ("null", ["*"], False, {"Access-Control-Allow-Origin": "*"}, True),
        (
            None,
            ["*"],
            True,
            {"Access-Control-Allow-Credentials": "true", "Access-Control-Allow-Origin": "*"},
            True,
        ),
        (None, BOTH, True, {"Access-Control-Allow-Credentials": "true"}, True),
    ],
)
def test_cors(origin, allow, credentials, headers, allowed):
    result = cors(origin, allow, credentials=credentials)
    assert result.headers == headers
    assert result.allowed is allowed


@pytest.mark.parametrize(
    ("requested", "expected"),
    [
        ([], {"Access-Control-Allow-Methods": "GET, HEAD, OPTIONS, POST"}),
        (
            ["X-PINGOTHER", "Content-Type"],
            {
                "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS, POST",
                "Access-Control-Allow-Headers": "X-PINGOTHER, Content-Type",
            },
        ),
    ],
)
def test_preflight_headers(requested, expected):
    assert preflight_headers("GET, HEAD, OPTIONS, POST", requested) == expected
