"""GET and HEAD of resources over HTTP (resgate's test 14 and 23, by feature)."""

from __future__ import annotations

import asyncio

import pytest

from res_protocol import errors
from tests.support import free_port

from .conftest import FLAT, MAPPED, assert_error, serve_resources
from .resources import EXPECTED, MODEL

INVALID_URLS = [
    "/api/",
    "/api/test.model",
    "/api/test/model/",
    "/api/test//model",
    "/api/test/m%C3%A5del/action",
    "/api/test/%zz",
]


@pytest.mark.parametrize("config", [{}, FLAT], ids=["json", "jsonflat"])
@pytest.mark.parametrize("url", INVALID_URLS)
async def test_invalid_urls_are_not_found(http, service, config, url):
    client = http(**config)
    assert_error(await client.get(url), 404, errors.CODE_NOT_FOUND, "Not found")
    assert (await client.head(url)).status_code == 404
    await service.assert_no_request(0)


@pytest.mark.parametrize(("encoding", "rid"), [(e, rid) for e in EXPECTED for rid in EXPECTED[e]])
async def test_get_encodes_the_tree(http, service, encoding, rid):
    serve_resources(service)
    response = await http(**(FLAT if encoding == "jsonflat" else {})).get("/api/" + rid.replace(".", "/"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.json() == EXPECTED[encoding][rid]


@pytest.mark.parametrize("kind", ["model", "collection"])
async def test_query_resource_sends_the_raw_query(http, service, kind):
    value = {"a": 1} if kind == "model" else [1, 2]
    pending = asyncio.ensure_future(http().get(f"/api/test/{kind}?q=foo&f=b%20r"))
    requests = await service.get_requests(2)
    access = requests.get(f"access.test.{kind}")
    assert access.data["query"] == "q=foo&f=b%20r"
    assert access.data["isHttp"] is True
    assert access.data.get("token") is None
    await access.respond_access(get=True)
    get = requests.get(f"get.test.{kind}")
    assert get.data["query"] == "q=foo&f=b%20r"
    await get.respond_result({kind: value, "query": "q=foo&f=b%20r"})
    response = await pending
    assert (response.status_code, response.json()) == (200, value)


@pytest.mark.parametrize(
    ("access", "status", "code"),
    [
        ({"result": {"get": False}}, 401, errors.CODE_ACCESS_DENIED),
        ({"result": {"call": "*"}}, 401, errors.CODE_ACCESS_DENIED),
        ({"result": None}, 500, errors.CODE_INTERNAL_ERROR),
        ({"error": {"code": "system.forbidden", "message": "No"}}, 403, errors.CODE_FORBIDDEN),
        ({"error": {"code": "custom.error", "message": "Custom"}}, 400, "custom.error"),
        ({"result": {"get": "yes"}}, 500, errors.CODE_INTERNAL_ERROR),
    ],
)
async def test_access_decides(http, service, access, status, code):
    serve_resources(service)
    service.auto("access.test.model", access)
    assert_error(await http().get("/api/test/model"), status, code)


async def test_access_timeout_is_404(http, service):
    service.auto("get.test.model", {"result": {"model": MODEL}})
    response = await http(**MAPPED).get("/api/test/model")
    assert_error(response, 404, errors.CODE_TIMEOUT)


@pytest.mark.parametrize(
    ("get", "status", "code"),
    [
        ({"error": {"code": "system.notFound", "message": "Not found"}}, 404, errors.CODE_NOT_FOUND),
        ({"error": {"code": "system.internalError", "message": "Boom"}}, 500, errors.CODE_INTERNAL_ERROR),
        ({"result": {"neither": 1}}, 500, errors.CODE_INTERNAL_ERROR),
    ],
)
async def test_root_error(http, service, get, status, code):
    service.auto("access.test.broken", {"result": {"get": True}})
    service.auto("get.test.broken", get)
    assert_error(await http().get("/api/test/broken"), status, code)


async def test_garbage_from_service_is_internal_error(http, service):
    service.auto("access.test.garbage", {"result": {"get": True}})

    async def garbage(req):
        await req.respond_raw(b"{]")

    service.auto("get.test.garbage", garbage)
    assert_error(await http().get("/api/test/garbage"), 500, errors.CODE_INTERNAL_ERROR)


async def test_head_sends_the_same_requests_without_body(http, service):
    pending = asyncio.ensure_future(http().head("/api/test/model"))
    requests = await service.get_requests(2)
    await requests.get("access.test.model").respond_access(get=True)
    await requests.get("get.test.model").respond_model(MODEL)
    response = await pending
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert int(response.headers["content-length"]) == len(
        b'{"string":"foo","int":42,"bool":true,"null":null}'
    )


async def test_head_error_status(http, service):
    service.auto("access.test.model", {"result": {"get": True}})
    service.auto("get.test.model", {"error": {"code": "system.notFound", "message": "Not found"}})
    response = await http().head("/api/test/model")
    assert (response.status_code, response.content) == (404, b"")


async def test_long_rid_is_414(http, service):
    response = await http().get("/api/test/" + "x" * 10000)
    assert_error(response, 414, errors.CODE_SUBJECT_TOO_LONG)


async def test_long_query_is_fine(http, service):
    query = "q=" + "x" * 10000
    serve_resources(service)
    response = await http().get("/api/test/model?" + query)
    assert (response.status_code, response.json()) == (200, MODEL)


async def test_gateway_with_another_api_path(http, service):
    serve_resources(service)
    client = http(apiPath="/rest")
    response = await client.get("/rest/test/model/parent")
    assert response.json() == {"name": "parent", "child": {"href": "/rest/test/model", "model": MODEL}}
    assert (await client.get("/api/test/model")).status_code == 404


async def test_each_request_runs_on_a_fresh_connection_and_keeps_nothing(http, service):
    client = http()
    cids = []
    for _ in range(2):
        pending = asyncio.ensure_future(client.get("/api/test/model"))
        requests = await service.get_requests(2)  # the resource is fetched again: nothing stayed subscribed
        access = requests.get("access.test.model")
        cids.append(access.data["cid"])
        await access.respond_access(get=True)
        await requests.get("get.test.model").respond_model(MODEL)
        assert (await pending).json() == MODEL
    assert cids[0] != cids[1]


async def test_api_requests_skip_the_site_middleware(http, service):
    client = http()
    api = await client.get("/api/test.model")
    assert api.headers["content-length"] == str(len(api.content))
    assert "x-frame-options" not in api.headers  # set by the site's middleware only
    site = await client.get("/admin/login/")
    assert site.status_code == 200
    assert site.headers["x-frame-options"] == "DENY"


async def test_no_nats_is_a_res_error_not_a_stack_trace(http, service):
    client = http(natsUrl=f"nats://127.0.0.1:{free_port()}", requestTimeout=500)
    response = await client.get("/api/test/model")
    assert response.status_code >= 500
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.json()["code"] in (errors.CODE_INTERNAL_ERROR, errors.CODE_SERVICE_UNAVAILABLE)


async def test_api_at_the_site_root(http, service):
    serve_resources(service)
    client = http(apiPath="/")
    response = await client.get("/test/model/parent")
    assert response.json() == {"name": "parent", "child": {"href": "/test/model", "model": MODEL}}
    assert (await client.get("/admin/login/")).headers["x-frame-options"] == "DENY"  # the site still works
