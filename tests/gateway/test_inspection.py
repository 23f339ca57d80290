"""The live inspector: every gateway answers on its own subject; ``resinspect`` gathers the answers.

Two real gateway processes on a NATS server of their own (so no other test's gateway answers), a test
service, and several WebSocket clients on each.
"""

from __future__ import annotations

import asyncio
import functools
import io
import json
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import nats
import pytest
from django.core.management import CommandError, call_command

from res_bridge.inspection import gather
from res_gateway.connection import Connection
from res_gateway.gateway import Gateway
from res_gateway.mq.nats import NatsClient
from res_protocol import dumps
from res_protocol.inspection import SUBJECT, is_report
from tests.gateway.conftest import open_client
from tests.harness import Client, GatewayProcess, Service, run_gateway
from tests.support import NatsServer, nats_round_trip

pytestmark = pytest.mark.slow

SECRET = "token-secret-4711"
MODELS = {"test.a": {"n": 1}, "test.b": {"n": 2}}


@pytest.fixture(scope="module")
def own_nats() -> Iterator[NatsServer]:
    server = NatsServer()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def gateways(own_nats: NatsServer) -> Iterator[list[GatewayProcess]]:
    started = [run_gateway(own_nats.url), run_gateway(own_nats.url)]
    yield started
    for gw in started:
        gw.stop()


@pytest.fixture
async def res_service(own_nats: NatsServer) -> AsyncIterator[Service]:
    service = await Service.connect(own_nats.url)
    for rid, model in MODELS.items():
        service.auto(f"access.{rid}", {"result": {"get": True}})
        service.auto(f"get.{rid}", {"result": {"model": model}})
    service.auto("access.test.list", {"result": {"get": True}})
    service.auto("get.test.list", {"result": {"collection": [{"rid": "test.a"}, {"rid": "test.b"}]}})
    yield service
    await service.close()


async def subscribed(url: str, *rids: str) -> Client:
    client = await open_client(url)
    for rid in rids:
        assert "result" in await client.request(f"subscribe.{rid}"), rid
    return client


def resinspect(*args: str) -> str:
    out = io.StringIO()
    call_command("resinspect", *args, stdout=out, no_color=True)
    return out.getvalue()


async def test_every_gateway_reports_its_connections_and_what_they_hold(
    own_nats: NatsServer, gateways: list[GatewayProcess], res_service: Service
) -> None:
    one, two = gateways
    clients = [
        await subscribed(one.ws_url, "test.a"),
        await subscribed(one.ws_url, "test.a", "test.b"),
        await subscribed(two.ws_url, "test.list"),  # holds test.a and test.b through references
        await subscribed(two.ws_url),
    ]
    cids = [await cid_of(client, res_service) for client in clients]
    await res_service.publish(f"conn.{cids[0]}.token", {"token": {"s": SECRET}})
    reports = await gather([own_nats.url], 0.5)
    assert len(reports) == 2 and all(is_report(r) for r in reports)
    first, second = sorted(reports, key=lambda r: "test.list" in r["resources"])
    assert (first["connections"], first["subscriptions"], first["resources"]) == (
        2,
        3,
        {"test.a": 2, "test.b": 1},
    )
    assert (second["connections"], second["subscriptions"], second["resources"]) == (
        2,
        3,
        {"test.a": 1, "test.b": 1, "test.list": 1},
    )
    assert first["cache"]["resources"] == 2 and second["cache"]["resources"] == 3
    assert first["id"] != second["id"] and all(r["uptime"] > 0 and r["nats_connected"] for r in reports)
    assert (first["slow_consumers"], first["queued_messages"]) == (0, 0)
    text = json.dumps(reports)
    assert SECRET not in text
    assert not any(cid in text for cid in cids)

    for client in clients:
        await client.close()
    await asyncio.sleep(0.3)
    after = await gather([own_nats.url], 0.5)
    assert [(r["connections"], r["subscriptions"], r["resources"]) for r in after] == [(0, 0, {})] * 2


async def cid_of(client: Client, service: Service) -> str:
    """The connection ID the gateway gave ``client``, as a service sees it in an auth request."""
    pending = client.send("auth.test.who")
    request = await service.get_request("auth.test.who")
    await request.respond_result(None)
    assert "result" in await pending
    return request.data["cid"]


async def answer_with(payload: bytes, nc: Any, msg: Any) -> None:
    await nc.publish(msg.reply, payload)


async def test_resinspect_prints_every_gateway(
    own_nats: NatsServer, gateways: list[GatewayProcess], res_service: Service
) -> None:
    clients = [await subscribed(gw.ws_url, "test.b") for gw in gateways for _ in range(2)]
    found = json.loads(
        await asyncio.to_thread(resinspect, "--nats", own_nats.url, "--json", "--timeout", "0.5")
    )
    assert sorted((r["connections"], r["resources"]) for r in found["gateways"]) == [(2, {"test.b": 2})] * 2
    text = await asyncio.to_thread(resinspect, "--nats", own_nats.url, "--timeout", "0.5")
    assert text.startswith("2 gateway(s): 4 connections, 4 subscriptions, 0 slow consumers\n")
    for report in found["gateways"]:
        assert f"\n{report['id']}\n" in text
    assert text.count("         2  test.b") == 2
    for client in clients:
        await client.close()


async def test_no_gateway_gives_an_empty_list_and_malformed_answers_are_ignored() -> None:
    lonely = NatsServer()
    try:
        nc = await nats.connect(lonely.url)
        for answer in (b"not json", dumps({"id": "x"}), dumps([1])):
            await nc.subscribe(SUBJECT, cb=functools.partial(answer_with, answer, nc))
        await nats_round_trip(nc)
        loop = asyncio.get_running_loop()
        started = loop.time()
        out = await asyncio.to_thread(resinspect, "--nats", lonely.url, "--json", "--timeout", "0.3")
        assert json.loads(out) == {"gateways": []}
        assert loop.time() - started < 5
        assert await asyncio.to_thread(resinspect, "--nats", lonely.url, "--timeout", "0.3") == (
            "No gateway answered within 0.3 s.\n"
        )
        await nc.close()
    finally:
        lonely.stop()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--nats", "nats://127.0.0.1:1"), "cannot reach NATS at nats://127.0.0.1:1"),
        (("--nats", "http://127.0.0.1:1"), "http://127.0.0.1:1 is not a NATS URL"),
        (
            ("--nats", "nats://127.0.0.1:1,https://u:secret@127.0.0.1:2"),
            "^https://127.0.0.1:2 is not a NATS URL",
        ),
        (("--timeout", "0"), "--timeout must be more than 0"),
    ],
)
def test_bad_input_is_a_command_error(args: tuple[str, ...], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        resinspect(*args)


async def test_a_client_whose_backlog_passes_half_the_queue_is_a_slow_consumer(nats_url: str) -> None:
    gateway = Gateway(NatsClient(nats_url))
    await gateway.ready()
    never = asyncio.Event()

    async def stuck(message: Any) -> None:
        await never.wait()

    try:
        async with Connection(gateway, send=stuck) as slow, Connection(gateway, send=stuck) as fine:
            limit = slow._out_limit
            for i in range(limit // 2 + 2):
                slow.write(f"m{i}")
            fine.write("one")
            fine.write("two")
            await asyncio.sleep(0)
            report = gateway.inspector.report()
            assert (report["connections"], report["slow_consumers"]) == (2, 1)
            assert report["queued_messages"] == slow.backlog + fine.backlog == limit // 2 + 2
    finally:
        await gateway.stop()


#: The README's example: only the operator may ask; gateways answer through the reply subject.
AUTHORIZATION = """
authorization {
  default_permissions: { publish: { deny: ["_res.gateway.inspect"] } }
  users: [
    { user: gateway, password: gateway-secret }
    { user: service, password: service-secret }
    { user: operator, password: operator-secret,
      permissions: { publish: ["_res.gateway.inspect"], subscribe: ["_INBOX.>"] } }
  ]
}
"""


def answers(url: str, count: int) -> list[dict[str, Any]]:
    """The gateways' answers once ``count`` answer (a gateway that just started may not listen yet)."""
    deadline = time.monotonic() + 10
    while True:
        found = json.loads(resinspect("--nats", url, "--json", "--timeout", "0.3"))["gateways"]
        if len(found) >= count or time.monotonic() > deadline:
            return found


def test_nats_permissions_decide_who_may_ask(tmp_path: Any) -> None:
    config = tmp_path / "nats.conf"
    config.write_text(AUTHORIZATION)
    server = NatsServer(extra=["-c", str(config)])
    url = f"127.0.0.1:{server.port}"
    gateway = run_gateway(f"nats://gateway:gateway-secret@{url}")
    try:
        found = answers(f"nats://operator:operator-secret@{url}", count=1)
        assert [g["connections"] for g in found] == [0]
        with pytest.raises(
            CommandError, match="(?i)refused the inspection request: .*permissions violation"
        ) as e:
            resinspect("--nats", f"nats://service:service-secret@{url}")
        assert "service-secret" not in str(e.value)
        with pytest.raises(
            CommandError, match=f"(?i)cannot reach NATS at nats://{url}: .*authorization violation"
        ):
            resinspect("--nats", f"nats://operator:wrong@{url}")
    finally:
        gateway.stop()
        server.stop()
