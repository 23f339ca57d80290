"""OPTIONS and CORS on API responses (resgate's tests 14, 15 and 21 on allowOrigin, by feature)."""

from __future__ import annotations

import pytest

from res_protocol import errors

from .conftest import AUTH, MAPPED, assert_error, serve_resources
from .resources import MODEL

SOME = "http://localhost;https://resgate.io"

# (request Origin or None, allowOrigin, allowed, expected headers, headers that must be missing)
ORIGINS = [
    ("http://localhost", "*", True, {"access-control-allow-origin": "*"}, ["vary"]),
    (
        "http://localhost",
        "http://localhost",
        True,
        {"access-control-allow-origin": "http://localhost", "vary": "Origin"},
        [],
    ),
    (
        "https://resgate.io",
        SOME,
        True,
        {"access-control-allow-origin": "https://resgate.io", "vary": "Origin"},
        [],
    ),
    (
        "http://example.com",
        SOME,
        False,
        {"access-control-allow-origin": "http://localhost", "vary": "Origin"},
        [],
    ),
    (None, "*", True, {"access-control-allow-origin": "*"}, ["vary"]),
    (None, "http://localhost", True, {}, ["access-control-allow-origin", "vary"]),
    (
        "null",
        "http://localhost",
        False,
        {"access-control-allow-origin": "http://localhost", "vary": "Origin"},
        [],
    ),
    ("null", "*", True, {"access-control-allow-origin": "*"}, ["vary"]),
]


def config(allow: str) -> dict[str, str]:
    return {} if allow == "*" else {"allowOrigin": allow}


def origin_header(origin: str | None) -> dict[str, str]:
    return {"Origin": origin} if origin is not None else {}


def assert_headers(response, expected, missing):
    for key, value in expected.items():
        assert response.headers.get(key) == value, (key, response.headers)
    for key in [*missing, "access-control-allow-credentials"]:
        assert key not in response.headers, key


@pytest.mark.parametrize(("origin", "allow", "allowed", "expected", "missing"), ORIGINS)
async def test_options_always_200_without_service_requests(
    http, service, origin, allow, allowed, expected, missing
):
    response = await http(**config(allow)).options("/api/test/model", headers=origin_header(origin))
    assert (response.status_code, response.content) == (200, b"")
    assert response.headers["access-control-allow-methods"] == "GET, HEAD, OPTIONS, POST"
    assert "access-control-allow-headers" not in response.headers
    assert_headers(response, expected, missing)
    await service.assert_no_request()


@pytest.mark.parametrize(("origin", "allow", "allowed", "expected", "missing"), ORIGINS)
async def test_get(http, service, origin, allow, allowed, expected, missing):
    serve_resources(service)
    response = await http(**config(allow)).get("/api/test/model", headers=origin_header(origin))
    if allowed:
        assert (response.status_code, response.json()) == (200, MODEL)
    else:
        assert_error(response, 403, errors.CODE_FORBIDDEN, "Forbidden origin")
    assert_headers(response, expected, missing)


@pytest.mark.parametrize(("origin", "allow", "allowed", "expected", "missing"), ORIGINS)
async def test_post(http, service, origin, allow, allowed, expected, missing):
    service.auto("access.test.model", {"result": {"call": "*"}})
    service.auto("call.test.model.method", {"result": {"ok": True}})
    response = await http(**config(allow)).post("/api/test/model/method", headers=origin_header(origin))
    if allowed:
        assert (response.status_code, response.json()) == (200, {"ok": True})
    else:
        assert_error(response, 403, errors.CODE_FORBIDDEN, "Forbidden origin")
        await service.assert_no_request()
    assert_headers(response, expected, missing)


async def test_forbidden_origin_comes_before_path_and_verb_checks(http, service):
    client = http(allowOrigin=SOME)
    for verb, url in [("GET", "/api/test.model"), ("PUT", "/api/test/model"), ("POST", "/api/x/")]:
        response = await client.request(verb, url, headers={"Origin": "http://example.com"})
        assert_error(response, 403, errors.CODE_FORBIDDEN)


@pytest.mark.parametrize(
    ("requested", "allow_headers"),
    [
        (["Content-Type"], "Content-Type"),
        (["X-PINGOTHER, Content-Type"], "X-PINGOTHER, Content-Type"),
        (["X-PINGOTHER", "Content-Type", "Authorization"], "X-PINGOTHER, Content-Type, Authorization"),
    ],
)
async def test_options_echoes_requested_headers(http, service, requested, allow_headers):
    headers = [("Access-Control-Request-Headers", value) for value in requested]
    response = await http().options("/api/test/model", headers=headers)
    assert response.headers["access-control-allow-headers"] == allow_headers


async def test_options_lists_mapped_verbs(http, service):
    client = http(**MAPPED)
    response = await client.options("/api/test/model")
    assert response.headers["access-control-allow-methods"] == "GET, HEAD, OPTIONS, POST, PUT, DELETE, PATCH"


async def test_header_auth_allows_credentials(http, service):
    response = await http(**AUTH).options("/api/test/model")
    assert response.status_code == 200
    assert response.headers["access-control-allow-credentials"] == "true"
    await service.assert_no_request()
