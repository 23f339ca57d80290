"""The browsable API: browsers get DRF's HTML page with links; machines always get resgate's JSON."""

from __future__ import annotations

import re

import pytest

from res_protocol import errors

from .conftest import assert_error, serve_resources
from .resources import MODEL

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


async def test_browser_gets_a_page_with_links(http, service):
    serve_resources(service)
    client = http()
    response = await client.get("/api/test/model/parent", headers={"Accept": BROWSER})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "Accept" in response.headers["vary"]
    assert response.headers["x-frame-options"] == "DENY"
    links = re.findall(r'<a href="([^"]+)"', response.text)
    assert f"{client.base_url}/api/test/model" in links
    assert "&quot;string&quot;: &quot;foo&quot;" in response.text  # the nested model is shown


async def test_browser_gets_errors_as_a_page(http, service):
    serve_resources(service)
    response = await http().get("/api/test/err/notFound", headers={"Accept": BROWSER})
    assert response.status_code == 404
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert errors.CODE_NOT_FOUND in response.text


@pytest.mark.parametrize("accept", [None, "application/json", "text/html, application/json", "*/*"])
async def test_machines_get_json(http, service, accept):
    serve_resources(service)
    headers = {"Accept": accept} if accept else {}
    response = await http().get("/api/test/model", headers=headers)
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.json() == MODEL
    assert "vary" not in response.headers


async def test_switched_off(http, service):
    serve_resources(service)
    response = await http(browsableApi=False).get("/api/test/model", headers={"Accept": BROWSER})
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.json() == MODEL


async def test_calls_stay_json_for_browsers(http, service):
    response = await http().post("/api/action", headers={"Accept": BROWSER})
    assert_error(response, 404, errors.CODE_NOT_FOUND)
