"""Metrics: the OpenMetrics text under resgate's names, and the ``/metrics`` endpoint of rungateway."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from res_gateway.metrics import CONTENT_TYPE, Metrics, render
from tests.gateway.running import RunningGateway, StartGateway
from tests.harness import Client, Service
from tests.support import free_port

SAMPLE = re.compile(r'^[a-z_]+(\{[a-z]+="[^"]*"(,[a-z]+="[^"]*")*\})? [0-9.e+-]+$')

#: What a fresh gateway reports, as resgate's own metrics test expects it.
FRESH = [
    "# TYPE resgate info",
    'resgate_info{version="1.8.0",protocol="1.2.3"} 1',
    "# TYPE resgate_ws_current_connections gauge",
    "resgate_ws_current_connections 0",
    "# TYPE resgate_ws_connections counter",
    "resgate_ws_connections_total 0",
    "# TYPE resgate_ws_requests counter",
    'resgate_ws_requests_total{method="get"} 0',
    'resgate_ws_requests_total{method="subscribe"} 0',
    'resgate_ws_requests_total{method="unsubscribe"} 0',
    'resgate_ws_requests_total{method="call"} 0',
    'resgate_ws_requests_total{method="auth"} 0',
    "# TYPE resgate_http_requests counter",
    'resgate_http_requests_total{method="GET"} 0',
    'resgate_http_requests_total{method="POST"} 0',
    "# TYPE resgate_cache_resources gauge",
    "resgate_cache_resources 0",
    "# TYPE resgate_cache_subscriptions gauge",
    "resgate_cache_subscriptions 0",
    "# TYPE process_cpu_seconds counter",
    "# TYPE process_resident_memory_bytes gauge",
    "# TYPE process_start_time_seconds gauge",
    "# TYPE process_open_fds gauge",
    "# TYPE python info",
]


def samples(text: str) -> dict[str, float]:
    """``{'name{labels}': value}`` of an OpenMetrics text."""
    return {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line and not line.startswith("#")
    }


def test_fresh_metrics_text() -> None:
    text = render(Metrics()).decode()
    lines = text.splitlines()
    for expected in FRESH:
        assert expected in lines
    assert text.endswith("\n# EOF\n") and text.count("# EOF") == 1
    assert 'method="PUT"' not in text
    families = {line.split()[2] for line in lines if line.startswith("# TYPE ")}
    for line in lines:
        if not line.startswith("#"):
            assert SAMPLE.match(line), line
            name = line.split("{")[0].split(" ")[0]
            assert name in families or name.rsplit("_", 1)[0] in families, line
    assert samples(text)["process_resident_memory_bytes"] > 0


def test_counting_rules() -> None:
    m = Metrics()
    for _ in range(3):
        m.ws_connected()
    m.ws_disconnected()
    for method in ("get", "subscribe", "new", "call", "auth", "unsubscribe", "call"):
        m.ws_request(method)
    for method in ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "PATCH"):
        m.http_request(method)
    values = samples(render(m, cache=(4, 7)).decode())
    assert values["resgate_ws_current_connections"] == 2
    assert values["resgate_ws_connections_total"] == 3
    assert values['resgate_ws_requests_total{method="call"}'] == 3  # new counts as call
    assert values['resgate_ws_requests_total{method="get"}'] == 1
    assert values['resgate_http_requests_total{method="GET"}'] == 2  # HEAD counts as GET
    assert values['resgate_http_requests_total{method="PATCH"}'] == 2
    assert values['resgate_http_requests_total{method="DELETE"}'] == 1
    assert (values["resgate_cache_resources"], values["resgate_cache_subscriptions"]) == (4, 7)


# --- the endpoint -------------------------------------------------------------------------------------


def start(rungateway: StartGateway, *flags: str) -> tuple[RunningGateway, str]:
    """A gateway with metrics on a free port (cache entries kept a minute after their last subscriber)."""
    metrics_port = free_port()
    env = {"RES_GATEWAY": json.dumps({"unsubscribeDelay": 60})}
    gateway = rungateway(*flags, env=env, metrics_port=metrics_port)
    return gateway, f"http://127.0.0.1:{metrics_port}/metrics"


async def scrape(url: str) -> dict[str, float]:
    async with httpx.AsyncClient() as http:
        response = await http.get(url)
    assert response.status_code == 200
    return samples(response.text)


@pytest.mark.parametrize("server", ["uvicorn", "daphne"])
async def test_endpoint(rungateway: StartGateway, server: str) -> None:
    gateway, url = start(rungateway, "--server", server)
    async with httpx.AsyncClient() as http:
        response = await http.get(url)
        assert response.status_code == 200
        assert response.headers["content-type"] == CONTENT_TYPE
        assert response.text.endswith("# EOF\n")
        for expected in FRESH:
            assert expected in response.text.splitlines()
        head = await http.head(url)
        assert (head.status_code, head.content) == (200, b"")
        assert (await http.get(url.replace("/metrics", "/other"))).status_code == 404
        assert (await http.post(url)).status_code == 405
        assert (await http.get(f"{gateway.url}/metrics")).status_code == 404  # not on the API port


async def answer_everything(service: Service) -> None:
    service.auto("access.test.model", {"result": {"get": True, "call": "*"}})
    service.auto("get.test.model", {"result": {"model": {"foo": "bar"}}})
    service.auto("access.test.model.parent", {"result": {"get": True}})
    service.auto("get.test.model.parent", {"result": {"model": {"child": {"rid": "test.model"}}}})
    for method in ("method", "new", "put"):
        service.auto(f"call.test.model.{method}", {"result": None})
    service.auto("auth.test.model.login", {"result": None})


async def test_connection_and_request_counters(rungateway: StartGateway, service: Service) -> None:
    await answer_everything(service)
    gateway, url = start(rungateway, "--putmethod", "put")
    first, second = await Client.connect(gateway.ws_url), await Client.connect(gateway.ws_url)
    await first.close()
    third = await Client.connect(gateway.ws_url)
    for method in ("get", "subscribe", "unsubscribe", "call", "new", "auth"):
        name = {"call": "test.model.method", "auth": "test.model.login"}.get(method, "test.model")
        await second.request(f"{method}.{name}", {} if method in ("call", "auth", "new") else None)
    async with httpx.AsyncClient(base_url=gateway.url) as http:
        assert (await http.get("/api/test/model")).status_code == 200
        assert (await http.head("/api/test/model")).status_code == 200
        assert (await http.post("/api/test/model/method", json={})).status_code == 204  # null result
        assert (await http.put("/api/test/model", json={})).status_code == 204
    values = await scrape(url)
    await second.close()
    await third.close()
    assert values["resgate_ws_current_connections"] == 2
    assert values["resgate_ws_connections_total"] == 3
    for method, count in {"get": 1, "subscribe": 1, "unsubscribe": 1, "call": 2, "auth": 1}.items():
        assert values[f'resgate_ws_requests_total{{method="{method}"}}'] == count, method
    for method, count in {"GET": 2, "POST": 1, "PUT": 1}.items():
        assert values[f'resgate_http_requests_total{{method="{method}"}}'] == count, method


async def test_cache_gauges(rungateway: StartGateway, service: Service) -> None:
    await answer_everything(service)
    gateway, url = start(rungateway)
    first, second = await Client.connect(gateway.ws_url), await Client.connect(gateway.ws_url)

    async def cache() -> tuple[float, float]:
        values = await scrape(url)
        return values["resgate_cache_resources"], values["resgate_cache_subscriptions"]

    await first.request("subscribe.test.model")
    assert await cache() == (1, 1)
    await second.request("subscribe.test.model")
    assert await cache() == (1, 2)  # one resource, two subscriptions
    await first.request("unsubscribe.test.model")
    await second.request("unsubscribe.test.model")
    assert await cache() == (1, 0)  # still cached within the unsubscribe delay
    await first.request("subscribe.test.model.parent")
    assert await cache() == (2, 2)  # the parent and, through its reference, the child
    await first.close()
    await second.close()
