"""Moving to another NATS node: a request under way when the service's node dies is still answered,
its events first; the service is subscribed again before its system.reset goes out, and a reset that
cannot be sent does not cost it the new connection."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator

import httpx
import nats
import pytest

from res_bridge import ModelResource, call_method, publish_event
from res_bridge.publisher import round_trip
from res_bridge.registry import Registry
from res_bridge.service import Service
from res_protocol import dumps, loads
from tests.bridge.conftest import Recorder
from tests.bridge.testapp.models import Product
from tests.support import NatsServer, free_port

pytestmark = pytest.mark.django_db(transaction=True)

started, release = threading.Event(), threading.Event()


class HeldBooks(ModelResource):
    model = Product
    rid = "held.product.{pk}"
    collection = "held.products"

    @call_method(detail=False)
    def hold(self, request) -> str:
        """Signal that the request is under way, wait for the test, then publish and answer."""
        started.set()
        assert release.wait(10)
        publish_event("held.products", "done", {"n": 1})
        return "done"


def _peers(monitor: int) -> int:
    routes = httpx.get(f"http://127.0.0.1:{monitor}/routez").json().get("routes") or []
    return len({route["remote_id"] for route in routes})


@pytest.fixture
def cluster() -> Iterator[list[NatsServer]]:
    """Two nats-servers routed to each other."""
    routes, monitors = [free_port(), free_port()], [free_port(), free_port()]
    nodes: list[NatsServer] = []
    try:
        for i in range(2):
            cluster = ["--cluster_name", "bridge", "--cluster", f"nats://127.0.0.1:{routes[i]}"]
            route = ["--routes", f"nats://127.0.0.1:{routes[1 - i]}", "-m", str(monitors[i])]
            nodes.append(NatsServer(extra=[*cluster, *route]))
        deadline = time.monotonic() + 20
        while not all(_peers(m) == 1 for m in monitors):
            assert time.monotonic() < deadline, "the NATS cluster did not form"
            time.sleep(0.05)
        yield nodes
    finally:
        for node in nodes:
            node.stop()


async def test_a_request_under_way_is_answered_from_the_next_node(cluster):
    registry = Registry()
    registry.register(HeldBooks)
    started.clear()
    release.clear()
    service = Service(
        registry, nats_url=",".join(n.url for n in cluster), queue_group=uuid.uuid4().hex, reconnect_wait=0.1
    )
    await service.start()
    first = next(n for n in cluster if n.port == service.nc.connected_url.port)
    other = next(n for n in cluster if n is not first)
    client = await nats.connect(other.url)
    try:
        seen, resets = Recorder(), Recorder()
        await client.subscribe("event.held.>", cb=seen._on)
        await client.subscribe("reply.held", cb=seen._on)
        await client.subscribe("system.reset", cb=resets._on)
        await round_trip(client, 5)
        await client.publish("call.held.products.hold", dumps({"cid": "c"}), reply="reply.held")
        assert await asyncio.to_thread(started.wait, 5)

        first.stop()  # the service's node dies while the request is under way
        reset = {"resources": ["held.>"], "access": ["held.>"]}
        assert await resets.wait(1) == [("system.reset", reset)]
        assert service.nc.connected_url.port == other.port
        reply = await client.request("get.held.product.7", b"{}", timeout=5)  # subscribed before the reset
        assert loads(reply.data)["error"]["code"] == "system.notFound"

        release.set()
        assert await seen.wait(2) == [
            ("event.held.products.done", {"n": 1}),
            ("reply.held", {"result": "done"}),
        ]
    finally:
        release.set()
        await client.close()
        await service.stop()


class ResetFailsOnce(Service):
    """A service whose first system.reset after a reconnect cannot be sent."""

    error = nats.errors.OutboundBufferLimitError()
    failures = 0

    async def reset(self) -> None:
        if self.nc.stats["reconnects"] and not self.failures:
            self.failures += 1
            raise self.error
        await super().reset()


async def test_a_failed_reset_after_reconnect_keeps_the_connection(caplog):
    port = free_port()
    server = NatsServer(port=port)
    service = ResetFailsOnce(nats_url=server.url, queue_group=uuid.uuid4().hex, reconnect_wait=0.1)
    await service.start()
    client = None
    try:
        server.stop()
        server = NatsServer(port=port)
        client = await nats.connect(server.url)
        async with asyncio.timeout(10):
            while True:  # until the service is back
                try:
                    reply = await client.request("get.store.product.7", b"{}", timeout=5)
                    break
                except nats.errors.NoRespondersError:
                    await asyncio.sleep(0.05)
        assert loads(reply.data)["error"]["code"] == "system.notFound"
        assert service.nc.is_connected and service.nc.stats["reconnects"] == 1
        failed = f"RES service reconnected to NATS, but sending system.reset failed: {ResetFailsOnce.error}"
        assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == [failed]
    finally:
        if client is not None:
            await client.close()
        await service.stop()
        server.stop()
