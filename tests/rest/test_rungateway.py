"""The REST bridge in ``manage.py rungateway``: flags that shape it, requests counted in metrics."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from tests.support import Process, free_port, manage, wait_for_port

from .conftest import serve_resources
from .resources import MODEL


@pytest.fixture(scope="module", params=["uvicorn", "daphne"])
def rungateway(request: pytest.FixtureRequest, nats_url: str) -> Iterator[tuple[str, str]]:
    port, metrics_port = free_port(), free_port()
    process: Process = manage(
        "rungateway",
        "--nats", nats_url, "--addr", "127.0.0.1", "--port", str(port), "--metricsport", str(metrics_port),
        "--putmethod", "set", "--apipath", "/rest", "--apiencoding", "jsonflat", "--server", request.param,
        "--workers", "1",
    )  # fmt: skip
    try:
        wait_for_port(port, proc=process.proc)
        wait_for_port(metrics_port, proc=process.proc)
        yield f"http://127.0.0.1:{port}", f"http://127.0.0.1:{metrics_port}/metrics"
    finally:
        process.stop()


def http_counts(text: str) -> dict[str, int]:
    return {
        m: int(float(v))
        for m, v in re.findall(r'^resgate_http_requests_total\{method="(\w+)"\} (\S+)$', text, re.M)
    }


async def test_requests_are_counted_per_verb(rungateway, service):
    url, metrics_url = rungateway
    serve_resources(service)
    service.auto("access.test.model", {"result": {"get": True, "call": "*"}})
    service.auto("call.test.model.method", {"result": None})
    service.auto("call.test.model.set", {"result": None})
    async with httpx.AsyncClient(base_url=url) as client:
        before = http_counts((await client.get(metrics_url)).text)
        assert (await client.get("/rest/test/model")).status_code == 200
        assert (await client.head("/rest/test/model")).status_code == 200
        assert (await client.post("/rest/test/model/method")).status_code == 204
        assert (await client.put("/rest/test/model")).status_code == 204
        assert (await client.patch("/rest/test/model")).status_code == 405  # unmapped: not counted
        assert (await client.options("/rest/test/model")).status_code == 200  # not counted
        after = http_counts((await client.get(metrics_url)).text)
    verbs = ("GET", "POST", "PUT", "DELETE", "PATCH")
    assert {m: after.get(m, 0) - before.get(m, 0) for m in verbs} == {
        "GET": 2,
        "POST": 1,
        "PUT": 1,
        "DELETE": 0,
        "PATCH": 0,
    }


async def test_flags_set_the_api_path_encoding_and_verbs(rungateway, service):
    url, _ = rungateway
    serve_resources(service)
    async with httpx.AsyncClient(base_url=url) as client:
        response = await client.get("/rest/test/model/parent")
        assert response.json() == {"name": "parent", "child": MODEL}
        assert (await client.get("/api/test.model")).headers["content-type"].startswith("text/html")
        service.auto("access.test.a/b", {"result": {"get": True}})
        service.auto("get.test.a/b", {"result": {"model": {"escaped": True}}})
        assert (await client.get("/rest/test/a%2Fb")).json() == {"escaped": True}  # the raw path is read
        # HEAD sends no body: the next request on the same connection still parses.
        assert (await client.head("/rest/test/a%2Fb")).status_code == 200
        assert (await client.get("/rest/test/a%2Fb")).json() == {"escaped": True}
        response = await client.options("/rest/test/model")
        assert response.headers["access-control-allow-methods"] == "GET, HEAD, OPTIONS, POST, PUT"
