"""The gateway outlives NATS: requests fail at once while it is gone, and state resyncs when it returns."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.harness import Client, Service, run_gateway
from tests.support import NatsServer


@pytest.fixture
def nats():
    server = NatsServer()
    yield server
    server.stop()


async def subscribe(client: Client, service: Service, rid: str, value: Any, **access: Any) -> Any:
    """Subscribe ``rid``, answering its access and get requests (a model for a dict, else a collection)."""
    pending = client.send(f"subscribe.{rid}")
    reqs = await service.get_requests(2)
    await reqs.get(f"access.{rid}").respond_access(get=True, **access)
    get = reqs.get(f"get.{rid}")
    await (get.respond_model(value) if isinstance(value, dict) else get.respond_collection(value))
    return await pending.result()


async def restart_nats(nats: NatsServer, service: Service) -> tuple[NatsServer, Service]:
    """Stop NATS (and the service's connection), start it again on the same port and reconnect the service."""
    await service.close()
    nats.stop()
    restarted = NatsServer(port=nats.port)
    return restarted, await Service.connect(restarted.url)


async def test_nats_restart_resyncs_clients(nats):
    gw = run_gateway(nats.url, requestTimeout=1000)
    service = await Service.connect(nats.url)
    client = await Client.connect(gw.ws_url)
    try:
        await client.request("version", {"protocol": "1.2.3"})
        result = await subscribe(client, service, "test.model", {"a": 1, "b": 1}, call="*")
        assert result == {"models": {"test.model": {"a": 1, "b": 1}}}
        await service.close()

        nats.stop()
        # While NATS is gone, requests fail at once with a clear error; the gateway stays up.
        for method in ("call.test.model.method", "subscribe.test.other", "auth.test.auth.login"):
            error = await client.send(method).error("system.internalError")
            assert "NATS" in error["message"]

        restarted = NatsServer(port=nats.port)
        service = await Service.connect(restarted.url)
        service.auto("get.test.model", {"result": {"model": {"a": 2, "c": 3}}})
        try:
            # On reconnect every cached resource is fetched again, then access is checked again.
            access = await service.get_request("access.test.model", wait=15)
            await access.respond_access(get=True, call="*")
            assert await client.get_event() == {
                "event": "test.model.change",
                "data": {"values": {"a": 2, "c": 3, "b": {"action": "delete"}}},
            }
            # Events and requests flow again
            await service.publish_change("test.model", {"a": 4})
            assert await client.get_event() == {"event": "test.model.change", "data": {"values": {"a": 4}}}
            pending = client.send("call.test.model.method")
            await (await service.get_request("call.test.model.method")).respond_result("ok")
            assert await pending.result() == {"payload": "ok"}
        finally:
            await service.close()
            restarted.stop()
    finally:
        await client.close()
        gw.stop()


async def test_access_lost_while_nats_was_down_unsubscribes(nats):
    gw = run_gateway(nats.url, requestTimeout=1000)
    service = await Service.connect(nats.url)
    client = await Client.connect(gw.ws_url)
    try:
        await subscribe(client, service, "test.model", {"a": 1})
        restarted, service = await restart_nats(nats, service)
        service.auto("get.test.model", {"result": {"model": {"a": 1}}})
        try:
            await (await service.get_request("access.test.model", wait=15)).respond_access(get=False)
            assert await client.get_event() == {
                "event": "test.model.unsubscribe",
                "data": {"reason": {"code": "system.accessDenied", "message": "Access denied"}},
            }
        finally:
            await service.close()
            restarted.stop()
    finally:
        await client.close()
        gw.stop()


async def test_gateway_started_before_nats_connects_when_it_comes(nats):
    port = nats.port
    nats.stop()
    gw = run_gateway(f"nats://127.0.0.1:{port}", requestTimeout=1000)
    try:
        restarted = NatsServer(port=port)
        try:
            await asyncio.sleep(0.2)
            client = await Client.connect(gw.ws_url)
            assert (await client.request("version"))["result"] == {"protocol": "1.2.3"}
            await client.close()
        finally:
            restarted.stop()
    finally:
        gw.stop()


async def test_event_dropped_during_resync_get_is_fetched_again(nats):
    gw = run_gateway(nats.url, requestTimeout=1000)
    service = await Service.connect(nats.url)
    client = await Client.connect(gw.ws_url)
    try:
        await subscribe(client, service, "test.collection", ["a"])
        restarted, service = await restart_nats(nats, service)
        service.auto("access.test.collection", {"result": {"get": True}})
        try:
            stale = await service.get_request("get.test.collection", wait=15)
            await service.publish_add("test.collection", "b", 1)
            await stale.respond_collection(["a"])
            await (await service.get_request("get.test.collection")).respond_collection(["a", "b"])
            assert await client.get_event() == {
                "event": "test.collection.add",
                "data": {"idx": 1, "value": "b"},
            }
            await service.assert_no_request()
            await client.assert_no_message()
        finally:
            await service.close()
            restarted.stop()
    finally:
        await client.close()
        gw.stop()
