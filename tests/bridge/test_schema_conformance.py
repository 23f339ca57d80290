"""The OpenAPI document ``resschema --openapi`` prints describes what the REST bridge really answers:
bodies from a real gateway and the demo's service, validated against the document's schemas."""

from __future__ import annotations

import io
import json
from typing import Any

import httpx
import pytest
from django.core.management import call_command
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from res_bridge.access import rule_cache
from tests.bridge.conftest import db
from tests.bridge.test_access_demo import loaddemo
from tests.harness import GatewayProcess, gateway  # noqa: F401 - a fixture

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def check() -> Any:
    out = io.StringIO()
    call_command("resschema", "--openapi", stdout=out)
    document = json.loads(out.getvalue())
    registry = Registry().with_resource("urn:api", Resource.from_contents(document, DRAFT202012))

    def validate(body: Any, path: str, verb: str, status: int) -> None:
        response = document["paths"][path][verb]["responses"][str(status)]
        if "$ref" in response:
            response = document["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
        schema = response["content"]["application/json"]["schema"]
        pointer = schema["$ref"].removeprefix("#") if "$ref" in schema else None
        target = {"$ref": f"urn:api#{pointer}"} if pointer else schema
        Draft202012Validator(target, registry=registry).validate(body)

    return validate


async def test_rest_answers_match_the_document(
    service: Any,
    gateway: GatewayProcess,  # noqa: F811 - the imported fixture
    check: Any,
    settings: Any,
) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    await db(loaddemo)()
    rule_cache.clear()
    async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as http:
        reads = [
            ("/api/library/book/1", "/api/library/book/{pk}", 200),
            ("/api/library/books", "/api/library/books", 200),
            ("/api/library/books?author=orwell&order=-title&limit=5", "/api/library/books", 200),
            ("/api/library/book/2/loans", "/api/library/book/{pk}/loans", 401),  # loans are private
            ("/api/library/shelf/1", "/api/library/shelf/{pk}", 401),
            ("/api/library/book/99", "/api/library/book/{pk}", 404),
            ("/api/library/books?order=nope", "/api/library/books", 400),
        ]
        for url, path, status in reads:
            response = await http.get(url)
            assert response.status_code == status, (url, response.text)
            check(response.json(), path, "get", status)
        calls = [
            ("/api/library/books/new", {"title": "Dune", "author": "Frank Herbert"}, 200),
            ("/api/library/books/new", {"title": "Dune"}, 400),
            ("/api/library/book/1/set", {"title": 7}, 400),
        ]
        for url, body, status in calls:
            response = await http.post(url, json=body)
            assert response.status_code == status, (url, response.text)
            if status == 200:
                assert response.headers["Location"].startswith("/api/library/book/")
            else:
                check(response.json(), url.replace("/1/", "/{pk}/"), "post", status)
        with pytest.raises(Exception, match="is not of type 'string'"):
            check({"id": 1, "title": 2, "author": "x"}, "/api/library/book/{pk}", "get", 200)
