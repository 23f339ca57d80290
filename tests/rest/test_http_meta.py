"""Meta (status and headers) from auth, access and call responses (resgate's test 31, by feature)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from res_protocol import errors

from .resources import MODEL

ORIGIN = "http://example.com"
HREF = "http://example.com/elsewhere"
CUSTOM = {"code": "system.custom", "message": "Custom"}
PROTECTED = {
    "Sec-Websocket-Extensions": ["x"],
    "Sec-Websocket-Protocol": ["x"],
    "Access-Control-Allow-Credentials": ["x"],
    "Access-Control-Allow-Origin": ["x"],
    "Content-Type": ["text/html; charset=utf-8"],
}


def reply(body: dict[str, Any] | None = None, **meta: Any) -> dict[str, Any]:
    """A service response: ``body`` (default ``{"result": null}``) plus ``meta`` keys when given."""
    out = dict(body or {"result": None})
    if meta:
        out["meta"] = meta
    return out


@dataclass
class Case:
    name: str
    access: dict[str, Any]
    auth: dict[str, Any] | None = None
    reply: dict[str, Any] | None = None  # get (GET) or call (POST) response
    status: int = 200
    body: Any = None
    headers: dict[str, list[str] | None] = field(default_factory=dict)


CAN_GET = {"result": {"get": True}}
CAN_CALL = {"result": {"call": "method"}}
ERROR_407 = reply({"error": CUSTOM}, status=407)
H = {"header": {"Test-Header": ["foo"]}}

GET_CASES = [
    Case("auth header", CAN_GET, auth=reply(**H), headers={"Test-Header": ["foo"]}),
    Case(
        "auth header canonicalized",
        CAN_GET,
        auth=reply(header={"test-header": ["foo"]}),
        headers={"Test-Header": ["foo"]},
    ),
    Case(
        "auth header twice",
        CAN_GET,
        auth=reply(header={"Test-Header": ["foo", "bar"]}),
        headers={"Test-Header": ["foo", "bar"]},
    ),
    Case(
        "auth cookie",
        CAN_GET,
        auth=reply(header={"Set-Cookie": ["id=foo"]}),
        headers={"Set-Cookie": ["id=foo"]},
    ),
    Case(
        "auth 307",
        CAN_GET,
        auth=reply(status=307, header={"Location": [HREF]}),
        status=307,
        headers={"Location": [HREF]},
    ),
    Case(
        "auth resource and 307",
        CAN_GET,
        auth=reply({"resource": {"rid": "test.redirect"}}, status=307),
        status=307,
        headers={"Location": ["/api/test/redirect"]},
    ),
    Case("auth 407 error", CAN_GET, auth=ERROR_407, status=407, body=CUSTOM),
    Case("auth 507 error", CAN_GET, auth=reply({"error": CUSTOM}, status=507), status=507, body=CUSTOM),
    Case(
        "auth 407 with header",
        CAN_GET,
        auth=reply({"error": CUSTOM}, status=407, **H),
        status=407,
        body=CUSTOM,
        headers={"Test-Header": ["foo"]},
    ),
    Case("access header", reply({"result": {"get": True}}, **H), headers={"Test-Header": ["foo"]}),
    Case(
        "access header overrides auth",
        reply({"result": {"get": True}}, header={"Test-Header": ["bar"]}),
        auth=reply(**H),
        headers={"Test-Header": ["bar"]},
    ),
    Case(
        "auth and access headers",
        reply({"result": {"get": True}}, header={"Test-Access": ["bar"]}),
        auth=reply(header={"Test-Auth": ["foo"]}),
        headers={"Test-Auth": ["foo"], "Test-Access": ["bar"]},
    ),
    Case(
        "cookies of auth and access",
        reply({"result": {"get": True}}, header={"Set-Cookie": ["id=bar"]}),
        auth=reply(header={"Set-Cookie": ["id=foo"]}),
        headers={"Set-Cookie": ["id=foo", "id=bar"]},
    ),
    Case(
        "access 307",
        reply({"result": {"get": True}}, status=307, header={"Location": [HREF]}),
        status=307,
        headers={"Location": [HREF]},
    ),
    Case(
        "auth resource does not redirect on access 307",
        reply({"result": {"get": True}}, status=307),
        auth=reply({"resource": {"rid": "test.redirect"}}),
        status=307,
        headers={"Location": None},
    ),
    Case("access 407 error", ERROR_407, status=407, body=CUSTOM),
    Case(
        "access 407 keeps auth header",
        ERROR_407,
        auth=reply(**H),
        status=407,
        body=CUSTOM,
        headers={"Test-Header": ["foo"]},
    ),
    Case(
        "protected headers",
        CAN_GET,
        auth=reply(header=PROTECTED),
        headers={
            "Sec-Websocket-Extensions": None,
            "Sec-Websocket-Protocol": None,
            "Access-Control-Allow-Credentials": ["true"],
            "Access-Control-Allow-Origin": [ORIGIN],
            "Content-Type": ["application/json; charset=utf-8"],
        },
    ),
    Case("auth 206 ignored", CAN_GET, auth=reply(status=206)),
    Case("auth 601 ignored", CAN_GET, auth=reply(status=601)),
    Case("access 206 ignored", reply({"result": {"get": True}}, status=206), auth=reply()),
    Case("access 601 ignored", reply({"result": {"get": True}}, status=601)),
]

POST_CASES = [
    Case("call header", CAN_CALL, reply=reply(**H), status=204, headers={"Test-Header": ["foo"]}),
    Case(
        "call header canonicalized",
        CAN_CALL,
        reply=reply(header={"test-header": ["foo"]}),
        status=204,
        headers={"Test-Header": ["foo"]},
    ),
    Case(
        "call cookie",
        CAN_CALL,
        reply=reply(header={"Set-Cookie": ["id=foo"]}),
        status=204,
        headers={"Set-Cookie": ["id=foo"]},
    ),
    Case(
        "call 307",
        CAN_CALL,
        reply=reply(status=307, header={"Location": [HREF]}),
        status=307,
        headers={"Location": [HREF]},
    ),
    Case(
        "call resource and 307",
        CAN_CALL,
        reply=reply({"resource": {"rid": "test.redirect"}}, status=307),
        status=307,
        headers={"Location": ["/api/test/redirect"]},
    ),
    Case("call 407 error", CAN_CALL, reply=ERROR_407, status=407, body=CUSTOM),
    Case("call 507 error", CAN_CALL, reply=reply({"error": CUSTOM}, status=507), status=507, body=CUSTOM),
    Case(
        "call header overrides access",
        reply({"result": {"call": "method"}}, header={"Test-Header": ["bar"]}),
        reply=reply(**H),
        status=204,
        headers={"Test-Header": ["foo"]},
    ),
    Case(
        "auth, access and call headers",
        reply({"result": {"call": "method"}}, header={"Test-Access": ["bar"]}),
        auth=reply(header={"Test-Auth": ["foo"]}),
        reply=reply(header={"Test-Call": ["baz"]}),
        status=204,
        headers={"Test-Auth": ["foo"], "Test-Access": ["bar"], "Test-Call": ["baz"]},
    ),
    Case(
        "cookies of auth, access and call",
        reply({"result": {"call": "method"}}, header={"Set-Cookie": ["b=2"]}),
        auth=reply(header={"Set-Cookie": ["a=1"]}),
        reply=reply(header={"Set-Cookie": ["c=3"]}),
        status=204,
        headers={"Set-Cookie": ["a=1", "b=2", "c=3"]},
    ),
    Case(
        "call 200 result with header",
        CAN_CALL,
        reply=reply({"result": 1}, **H),
        body=1,
        headers={"Test-Header": ["foo"]},
    ),
    Case(
        "call error with header",
        CAN_CALL,
        reply=reply({"error": CUSTOM}, **H),
        status=400,
        body=CUSTOM,
        headers={"Test-Header": ["foo"]},
    ),
    Case(
        "call resource with header",
        CAN_CALL,
        reply=reply({"resource": {"rid": "test.model"}}, header={"Location": ["/ignored"]}),
        headers={"Location": ["/api/test/model"]},
    ),
    Case(
        "access 307",
        reply({"result": {"call": "method"}}, status=307),
        status=307,
        headers={"Location": None},
    ),
    Case("access 407 error", ERROR_407, status=407, body=CUSTOM),
    Case(
        "protected headers",
        CAN_CALL,
        reply=reply(header=PROTECTED),
        status=204,
        headers={
            "Access-Control-Allow-Origin": [ORIGIN],
            "Content-Type": None,
            "Sec-Websocket-Protocol": None,
        },
    ),
    Case("call 206 ignored", CAN_CALL, reply=reply(status=206), status=204),
    Case("call 601 ignored", CAN_CALL, reply=reply(status=601), status=204),
]


CONFIG = {"allowOrigin": ORIGIN, "headerAuth": "vault.method"}
NO_AUTH_META = {"result": None}  # cases without auth meta still pass header auth, with a plain reply


def check(response, case: Case) -> None:
    assert response.status_code == case.status, response.text
    if case.body is not None:
        assert response.json() == case.body
    for key, values in case.headers.items():
        assert response.headers.get_list(key) == (values or []), key


@pytest.mark.parametrize("case", GET_CASES, ids=lambda c: c.name)
async def test_get_meta(http, service, case):
    service.auto("auth.vault.method", case.auth or NO_AUTH_META)
    service.auto("access.test.model", case.access)
    service.auto("get.test.model", case.reply or {"result": {"model": MODEL}})
    response = await http(**CONFIG).get("/api/test/model", headers={"Origin": ORIGIN})
    check(response, case)
    if case.status == 200:
        assert response.json() == MODEL


@pytest.mark.parametrize("case", POST_CASES, ids=lambda c: c.name)
async def test_post_meta(http, service, case):
    service.auto("auth.vault.method", case.auth or NO_AUTH_META)
    service.auto("access.test.model", case.access)
    if case.reply is not None:
        service.auto("call.test.model.method", case.reply)
    response = await http(**CONFIG).post("/api/test/model/method", headers={"Origin": ORIGIN})
    check(response, case)


STATUS_ERRORS = [
    (401, errors.ACCESS_DENIED),
    (402, errors.ACCESS_DENIED),
    (403, errors.FORBIDDEN),
    (404, errors.NOT_FOUND),
    (405, errors.METHOD_NOT_ALLOWED),
    (407, errors.ACCESS_DENIED),
    (408, errors.TIMEOUT),
    (410, errors.NOT_FOUND),
    (418, errors.BAD_REQUEST),
    (451, errors.FORBIDDEN),
    (500, errors.INTERNAL_ERROR),
    (501, errors.NOT_IMPLEMENTED),
    (503, errors.SERVICE_UNAVAILABLE),
    (504, errors.TIMEOUT),
    (599, errors.INTERNAL_ERROR),
]


@pytest.mark.parametrize(("status", "error"), STATUS_ERRORS)
async def test_status_without_error_becomes_an_error(http, service, status, error):
    service.auto("access.test.model", {"result": {"get": True}, "meta": {"status": status}})
    service.auto("get.test.model", {"result": {"model": MODEL}})
    response = await http().get("/api/test/model")
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.json() == error.to_dict()


async def test_invalid_status_is_logged(gateways, http, service):
    service.auto("access.test.model", {"result": {"get": True}, "meta": {"status": 299}})
    service.auto("get.test.model", {"result": {"model": MODEL}})
    assert (await http().get("/api/test/model")).status_code == 200
    assert "Invalid meta status: 299" in gateways().output()
