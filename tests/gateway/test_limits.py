"""Per-connection limits (ours, not resgate's): requests in flight and the rate of new subscriptions, through
``rungateway``'s flags, over real WebSockets; input limits on params and payload size."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from res_gateway.conf import ConfigError, GatewaySettings
from res_gateway.management.commands.rungateway import flag_overrides
from tests.gateway.running import RunningGateway, StartGateway, rungateway_fixture  # noqa: F401
from tests.gateway.test_metrics import scrape
from tests.harness import Client, Service
from tests.support import free_port

MODEL = {"result": {"model": {"foo": "bar"}}}


def test_settings_defaults_and_checks():
    defaults = GatewaySettings.from_config({})
    assert (defaults.max_requests_in_flight, defaults.max_subscribe_rate) == (256, 200)
    off = GatewaySettings.from_config({"maxRequestsInFlight": 0, "maxSubscribeRate": 0})
    assert (off.max_requests_in_flight, off.max_subscribe_rate) == (0, 0)
    for key, value in (("maxRequestsInFlight", -1), ("maxSubscribeRate", "10"), ("maxSubscribeRate", 1.5)):
        with pytest.raises(ConfigError, match=f"invalid {key} setting .*: must be an integer of at least 0"):
            GatewaySettings.from_config({key: value})


def test_flags():
    options = {"maxrequestsinflight": "8", "maxsubscriberate": "0"}
    assert flag_overrides(options) == {"maxRequestsInFlight": 8, "maxSubscribeRate": 0}


def start(rungateway: StartGateway, *flags: str) -> tuple[RunningGateway, str]:
    metrics_port = free_port()
    return rungateway(*flags, metrics_port=metrics_port), f"http://127.0.0.1:{metrics_port}/metrics"


async def test_requests_in_flight(rungateway: StartGateway, service: Service) -> None:
    gateway, metrics_url = start(rungateway, "--maxrequestsinflight", "2", "--maxsubscriberate", "0")
    client, other = await Client.connect(gateway.ws_url), await Client.connect(gateway.ws_url)
    try:
        service.auto("access.test.model", {"result": {"get": True}})
        first, second = client.send("subscribe.test.model.a"), client.send("subscribe.test.model.b")
        held = await service.get_requests(4)  # access and get of each
        refused = await client.send("subscribe.test.model").error("system.requestLimitExceeded")
        assert refused["message"] == "Too many requests in flight: at most 2 per connection"
        service.auto("get.test.model", MODEL)
        assert "models" in (await other.request("subscribe.test.model"))["result"]  # others are not held up
        for request in held.items:
            await request.respond({"result": {"get": True}} if request.kind == "access" else MODEL)
        await first.result()
        await second.result()
        assert "models" in (await client.request("subscribe.test.model"))["result"]  # a place is free again
        values = await scrape(metrics_url)
        assert values['resgate_requests_refused_total{limit="maxRequestsInFlight"}'] == 1
    finally:
        await client.close()
        await other.close()


async def test_new_subscriptions_a_second(rungateway: StartGateway, service: Service) -> None:
    gateway, metrics_url = start(rungateway, "--maxsubscriberate", "3")
    for name in ("a", "b", "c", "d"):
        service.auto(f"access.test.model.{name}", {"result": {"get": True}})
        service.auto(f"get.test.model.{name}", MODEL)
    client = await Client.connect(gateway.ws_url)
    try:
        for name in ("a", "b", "c"):
            assert "result" in await client.request(f"subscribe.test.model.{name}")
        assert "result" in await client.request("subscribe.test.model.a")  # held already: not new
        refused = await client.send("get.test.model.d").error("system.subscriptionLimitExceeded")
        assert refused["message"] == "Too many new subscriptions: at most 3 a second per connection"
        await asyncio.sleep(0.4)  # the budget refills at 3 a second
        assert "result" in await client.request("subscribe.test.model.d")
        values = await scrape(metrics_url)
        assert values['resgate_requests_refused_total{limit="maxSubscribeRate"}'] == 1
    finally:
        await client.close()


async def test_a_flood_is_refused_and_others_are_served(rungateway: StartGateway, service: Service) -> None:
    gateway, _ = start(rungateway, "--maxrequestsinflight", "20", "--reqtimeout", "500")
    service.auto("access.test.model", {"result": {"get": True}})
    service.auto("get.test.model", MODEL)
    abuser, other = await Client.connect(gateway.ws_url), await Client.connect(gateway.ws_url)
    try:
        flood = [abuser.send(f"subscribe.test.zz{i}") for i in range(1000)]  # nobody answers these
        assert "models" in (await other.request("get.test.model"))["result"]
        codes = [(await pending).get("error", {}).get("code") for pending in flood]
        assert (
            codes.count("system.requestLimitExceeded") + codes.count("system.subscriptionLimitExceeded")
            >= 800
        )
    finally:
        await abuser.close()
        await other.close()


def nested(depth: int) -> object:
    value: object = 1
    for _ in range(depth):
        value = [value]
    return value


async def test_input_limits(rungateway: StartGateway, service: Service) -> None:
    """Params nested too deep or too large for NATS are refused before they are sent, and not logged."""
    gateway, metrics_url = start(rungateway)
    service.auto("access.test.model", {"result": {"get": True, "call": "*"}})
    service.auto("call.test.model.method", {"result": "ok"})
    client = await Client.connect(gateway.ws_url)
    try:
        assert (await client.request("call.test.model.method", nested(64)))["result"] == "ok"
        params = "[" * 1000 + "1" + "]" * 1000
        frame = f'{{"id":99,"method":"call.test.model.method","params":{params}}}'
        deep = await client.send_raw(frame, 99).error("system.invalidParams")
        assert deep["message"] == "Invalid params: nested deeper than 64 levels"
        large = await client.send("call.test.model.method", {"text": "x" * 2_000_000}).error()
        assert large["code"] == "system.invalidParams"
        assert (
            large["message"].startswith("Request too large: 20000")
            and "NATS takes at most 1048576" in large["message"]
        )
        await service.assert_no_request()
        async with httpx.AsyncClient() as http:
            response = await http.post(f"{gateway.url}/api/test/model/method", json=nested(300))
        assert response.status_code == 400
        assert response.json()["message"] == "Invalid params: nested deeper than 64 levels"
        values = await scrape(metrics_url)
        assert values['resgate_requests_refused_total{limit="maxDepth"}'] == 2
        assert values['resgate_requests_refused_total{limit="maxPayload"}'] == 1
        assert "Traceback" not in gateway.output() and "ERROR" not in gateway.output()
    finally:
        await client.close()
