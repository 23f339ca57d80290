"""What only the in-memory client can play on demand: lost connections, pre-responses and late replies."""

from __future__ import annotations

import asyncio
import logging
import weakref

import pytest

from res_gateway.mq.memory import MemoryBroker, MemoryClient
from res_protocol import ResError


@pytest.fixture
async def mq(broker: MemoryBroker):
    client = MemoryClient(broker)
    await client.connect()
    yield client
    await client.close()


def answer_later(broker: MemoryBroker, subject: str, *replies: tuple[float, bytes]) -> None:
    """Answer each request on ``subject`` with ``replies``, each ``(seconds after the request, payload)``."""

    def on_request(subject: str, payload: bytes, reply: str | None) -> None:
        loop = asyncio.get_running_loop()
        for delay, data in replies:
            loop.call_later(delay, broker.publish, reply, data)

    broker.subscribe(subject, on_request)


async def test_reply_before_the_timeout_is_returned(mq, broker):
    answer_later(broker, "svc.slow", (0.05, b"{}"))
    assert await mq.request("svc.slow", b"", 1) == b"{}"


async def test_reply_after_the_timeout_is_dropped(mq, broker, caplog):
    answer_later(broker, "svc.late", (0.1, b"{}"))
    with pytest.raises(ResError) as e:
        await mq.request("svc.late", b"", 0.05)
    assert e.value.code == "system.timeout"
    await asyncio.sleep(0.1)
    assert caplog.messages == []  # the reply found no request and was dropped quietly


async def test_pre_response_restarts_the_timer(mq, broker):
    answer_later(broker, "svc.busy", (0.01, b'timeout:"300"'), (0.15, b"{}"))
    assert await mq.request("svc.busy", b"", 0.1) == b"{}"


async def test_requests_time_out_each_at_its_own_deadline(mq, broker):
    """One timer serves requests sent with the same timeout; a shorter timeout sent after a longer one
    still expires first."""
    broker.subscribe("svc.never", lambda subject, payload, reply: None)
    loop = asyncio.get_running_loop()
    timed_out: dict[str, float] = {}

    async def request(name: str, wait: float) -> None:
        sent = loop.time()
        with pytest.raises(ResError) as e:
            await mq.request("svc.never", b"", wait)
        assert e.value.code == "system.timeout"
        timed_out[name] = loop.time() - sent

    requests = [asyncio.ensure_future(request("long", 0.5))]
    for i in range(3):
        requests.append(asyncio.ensure_future(request(f"short{i}", 0.1)))
        await asyncio.sleep(0.03)
    requests.append(asyncio.ensure_future(request("shorter", 0.05)))
    await asyncio.gather(*requests)
    assert timed_out["long"] >= 0.5
    for name, timeout in [("short0", 0.1), ("short1", 0.1), ("short2", 0.1), ("shorter", 0.05)]:
        assert timeout <= timed_out[name] < timeout + 0.05, (name, timed_out)


async def test_an_answered_request_leaves_nothing_of_its_reply_behind(mq, broker):
    broker.subscribe("svc.echo", lambda subject, payload, reply: broker.publish(reply, payload))
    reply = b"[" + b"1," * 1000 + b"1]"
    request = mq.request("svc.echo", reply, 60)
    assert await request == reply
    gone = weakref.ref(request)
    del request
    await asyncio.sleep(0)  # the loop lets go of the awaited future
    assert gone() is None  # its deadline is still queued, without the future


async def test_lost_connection_fails_requests_misses_messages_and_resumes(mq, broker):
    calls: list[str] = []
    mq.on_disconnect = lambda: calls.append("disconnect")
    mq.on_reconnect = lambda: calls.append("reconnect")
    seen: list[bytes] = []
    mq.subscribe("event.>", lambda subject, payload: seen.append(payload))
    broker.subscribe("svc.never", lambda subject, payload, reply: None)
    pending = asyncio.ensure_future(mq.request("svc.never", b"", 5))
    await broker.flush()
    await mq.disconnect()
    with pytest.raises(ResError) as e:
        await pending
    assert e.value == ResError("system.internalError", "not connected to NATS") and not mq.connected
    broker.publish("event.missed", b"1")
    await mq.publish("svc.later", b"sent on reconnect")
    later: list[bytes] = []
    broker.subscribe("svc.later", lambda subject, payload, reply: later.append(payload))
    await broker.flush()
    assert later == [] and seen == []
    await mq.reconnect()
    broker.publish("event.after", b"2")
    await broker.flush()
    assert seen == [b"2"] and later == [b"sent on reconnect"]
    assert calls == ["disconnect", "reconnect"] and mq.connected


async def test_failing_handler_is_logged_and_stops_nothing(mq, broker, caplog):
    seen: list[bytes] = []

    def handler(subject: str, payload: bytes) -> None:
        if payload == b"boom":
            raise ValueError(payload)
        seen.append(payload)

    mq.subscribe("event.x", handler)
    for payload in (b"1", b"boom", b"2"):
        broker.publish("event.x", payload)
    with caplog.at_level(logging.ERROR, logger="res_gateway.mq"):
        await broker.flush()
    assert seen == [b"1", b"2"] and "handling a message on event.x" in caplog.text


async def test_request_over_max_payload_is_refused(broker):
    mq = MemoryClient(broker, max_payload=10)
    await mq.connect()
    with pytest.raises(ResError) as e:
        await mq.request("svc.any", b"x" * 11, 1)
    assert e.value.code == "system.invalidParams"


@pytest.mark.parametrize("subject", ["", "a..b", "a.>.b", "a.b*", "a.>>"])
def test_invalid_subscription_subjects_are_refused(broker, subject):
    with pytest.raises(ValueError):
        broker.subscribe(subject, lambda subject, payload, reply: None)
