"""The NATS client: subscription messages reach their handler in order, straight from the read loop."""

from __future__ import annotations

import nats
import pytest

from res_gateway.mq.nats import NatsClient


@pytest.fixture
async def mq(nats_url: str):
    client = NatsClient(nats_url)
    await client.connect()
    yield client
    await client.close()


async def test_messages_reach_the_handler_in_order_and_a_failing_one_stops_nothing(mq, nats_url, caplog):
    seen: list[tuple[str, bytes]] = []

    def handler(subject: str, payload: bytes) -> None:
        if payload == b"boom":
            raise ValueError("boom")
        seen.append((subject, payload))

    sub = await mq.subscribe("event.a.*", handler)
    publisher = await nats.connect(nats_url)
    try:
        await mq.nc.flush()
        for i in range(100):
            await publisher.publish(f"event.a.e{i}", b"boom" if i == 50 else str(i).encode())
        await publisher.flush()
        await mq.nc.flush()  # a round trip: every message was read before its answer, and handled then
        assert seen == [(f"event.a.e{i}", str(i).encode()) for i in range(100) if i != 50]
        assert "handling a message on event.a.e50" in caplog.text
        # no task or queue per subscription: the handler runs as the message is read
        assert sub._sub._wait_for_msgs_task is None
        await sub.unsubscribe()
        await publisher.publish("event.a.after", b"x")
        await publisher.flush()
        await mq.nc.flush()  # a round trip: the message would have been read by now
        assert len(seen) == 99
    finally:
        await publisher.close()
