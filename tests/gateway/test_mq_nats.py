"""The NATS client: subscription messages reach their handler in order, straight from the read loop."""

from __future__ import annotations

import asyncio

import nats
import pytest

from res_gateway.mq.nats import NatsClient
from tests.support import NatsProxy, nats_round_trip


@pytest.fixture
async def mq(nats_url: str):
    client = NatsClient(nats_url)
    await client.connect()
    yield client
    await client.close()


async def test_messages_reach_the_handler_in_order_and_a_failing_one_stops_nothing(mq, nats_url, caplog):
    seen: list[tuple[str, bytes]] = []
    arrived = asyncio.Event()

    def handler(subject: str, payload: bytes) -> None:
        if payload == b"boom":
            raise ValueError("boom")
        seen.append((subject, payload))
        if payload == b"last":
            arrived.set()

    sub = mq.subscribe("event.a.*", handler)
    publisher = await nats.connect(nats_url)
    try:
        await mq.nc.flush()
        for i in range(100):
            await publisher.publish(f"event.a.e{i}", b"boom" if i == 50 else str(i).encode())
        await publisher.publish("event.a.end", b"last")  # one publisher: the server keeps its order
        async with asyncio.timeout(5):
            await arrived.wait()
        assert seen == [(f"event.a.e{i}", str(i).encode()) for i in range(100) if i != 50] + [
            ("event.a.end", b"last")
        ]
        assert "handling a message on event.a.e50" in caplog.text
        # no task or queue per subscription: the handler runs as the message is read
        assert sub._sub._wait_for_msgs_task is None
        sub.unsubscribe()
        arrived.clear()
        ready = asyncio.Event()
        mq.subscribe(
            "event.b.*",
            lambda subject, payload: ready.set() if payload == b"?" else handler(subject, payload),
        )
        async with asyncio.timeout(5):  # the server has both the unsubscribe and the new subscription
            while not ready.is_set():
                await publisher.publish("event.b.ready", b"?")
                await asyncio.sleep(0.01)
        await publisher.publish("event.a.after", b"x")
        await publisher.publish("event.b.end", b"last")  # sent after it: it would have come first
        async with asyncio.timeout(5):
            await arrived.wait()
        assert seen[-1] == ("event.b.end", b"last") and len(seen) == 101
    finally:
        await publisher.close()


async def test_subscriptions_made_while_reconnecting_all_get_their_messages(nats_url):
    """Subscribed or unsubscribed at any moment of a reconnect, each subscription is as it was asked."""
    proxy = NatsProxy(int(nats_url.rsplit(":", 1)[1]))
    mq = NatsClient(await proxy.start())
    reconnected = asyncio.Event()
    mq.on_reconnect = reconnected.set
    await mq.connect()
    publisher = await nats.connect(nats_url)
    seen: set[str] = set()
    try:
        dropped = mq.subscribe("event.dropped.*", lambda subject, payload: seen.add(subject))
        proxy.cut()
        subjects: list[str] = []
        async with asyncio.timeout(10):
            while not reconnected.is_set():  # every moment of the reconnect, up to the reconnected callback
                subjects.append(f"event.r{len(subjects)}.change")
                mq.subscribe(subjects[-1], lambda subject, payload: seen.add(subject))
                if len(subjects) == 5:
                    dropped.unsubscribe()
                await asyncio.sleep(0.002)
        await nats_round_trip(mq.nc)
        for subject in [*subjects, "event.dropped.change"]:
            await publisher.publish(subject, b"")
        await nats_round_trip(publisher)
        await nats_round_trip(mq.nc)
        assert len(subjects) > 20 and seen == set(subjects)
    finally:
        await publisher.close()
        await mq.close()
        await proxy.stop()
