"""PUT, PATCH and DELETE mapped to call methods (resgate's test 22, by feature)."""

from __future__ import annotations

import asyncio

import pytest

from res_protocol import errors

from .conftest import MAPPED, assert_error

VERBS = {"PUT": "putMethod", "PATCH": "patchMethod", "DELETE": "deleteMethod"}
PARAMS = b'{"foo":"bar"}'


@pytest.mark.parametrize("verb", VERBS)
async def test_mapped_verb_calls_the_method(http, service, verb):
    client = http(**MAPPED)
    pending = asyncio.ensure_future(client.request(verb, "/api/test/model?x=1", content=PARAMS))
    access = await service.get_request("access.test.model")
    assert access.data["isHttp"] is True
    await access.respond_access(get=True, call="mapped")
    call = await service.get_request("call.test.model.mapped")
    assert (call.data["params"], call.data["query"]) == ({"foo": "bar"}, "x=1")
    await call.respond_result("zoo")
    response = await pending
    assert (response.status_code, response.json()) == (200, "zoo")


@pytest.mark.parametrize("verb", VERBS)
@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (errors.INVALID_PARAMS, 400, errors.CODE_INVALID_PARAMS),
        (errors.ACCESS_DENIED, 401, errors.CODE_ACCESS_DENIED),
        (errors.METHOD_NOT_FOUND, 405, errors.CODE_METHOD_NOT_ALLOWED),
    ],
)
async def test_mapped_verb_errors(http, service, verb, error, status, code):
    service.auto("access.test.model", {"result": {"call": "*"}})
    service.auto("call.test.model.mapped", {"error": error.to_dict()})
    response = await http(**MAPPED).request(verb, "/api/test/model", content=PARAMS)
    assert_error(response, status, code)


async def test_mapped_verb_timeout(http, service):
    service.auto("access.test.model", {"result": {"call": "*"}})
    response = await http(**MAPPED).put("/api/test/model", content=PARAMS)
    assert_error(response, 404, errors.CODE_TIMEOUT)


@pytest.mark.parametrize("verb", VERBS)
async def test_unmapped_verb_is_405(http, service, verb):
    response = await http().request(verb, "/api/test/model", content=PARAMS)
    assert_error(response, 405, errors.CODE_METHOD_NOT_ALLOWED, "Method not allowed")
    await service.assert_no_request()


@pytest.mark.parametrize("verb", ["TRACE", "CONNECT", "PROPFIND", "MKCOL"])  # verbs the server parses
async def test_unknown_verb_is_405(http, service, verb):
    response = await http().request(verb, "/api/test/model")
    assert_error(response, 405, errors.CODE_METHOD_NOT_ALLOWED)
    await service.assert_no_request(0)


async def test_mapped_verb_on_an_invalid_path_is_404(http, service):
    client = http(**MAPPED)
    assert_error(await client.put("/api/test.model"), 404, errors.CODE_NOT_FOUND)
    assert_error(await client.put("/api/test/model/"), 404, errors.CODE_NOT_FOUND)
