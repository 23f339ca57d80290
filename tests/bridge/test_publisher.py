"""The publisher: from synchronous code over its own connection, buffered while NATS is down,
overflow turned into a system.reset, delivered at interpreter exit, and through the service in its process."""

from __future__ import annotations

import asyncio
import logging

import nats
import pytest

import res_bridge
from res_bridge.publisher import Publisher, round_trip
from tests.bridge.conftest import Recorder
from tests.support import NatsServer, free_port, manage


async def wait_until(predicate) -> None:
    """Poll ``predicate`` for up to 5 s (the publisher's connection state has no awaitable)."""
    for _ in range(250):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached")


async def test_publishes_from_a_background_connection(nats_url, record):
    messages = await record("event.library.>")
    publisher = Publisher(nats_url)
    try:
        publisher.publish("event.library.book.1.custom", {"n": 1})
        publisher.publish("event.library.book.1.custom", b'{"n":2}')
        assert await asyncio.to_thread(publisher.flush, 5)
        assert await messages.wait(2) == [
            ("event.library.book.1.custom", {"n": 1}),
            ("event.library.book.1.custom", {"n": 2}),
        ]
    finally:
        await asyncio.to_thread(publisher.close)


async def _restart_and_listen(server: NatsServer) -> tuple[NatsServer, object, Recorder]:
    server = NatsServer(port=server.port)
    client = await nats.connect(server.url)
    recorder = Recorder()
    await client.subscribe(">", cb=recorder._on)
    await round_trip(client, 5)
    await recorder.wait(1)  # the round trip's own message
    recorder.clear()
    return server, client, recorder


@pytest.mark.parametrize(
    "buffer_size,expected",
    [
        (
            10,
            [
                ("event.library.book.1.change", {"values": {"n": 1}}),
                ("event.library.book.2.change", {"values": {"n": 2}}),
                ("system.reset", {"resources": ["library.x"]}),
                ("event.library.books.add", {"value": 1, "idx": 0}),
            ],
        ),
        (
            3,
            [
                ("system.reset", {"resources": ["library.book.1", "library.book.2", "library.x"]}),
                ("event.library.books.add", {"value": 1, "idx": 0}),
            ],
        ),
    ],
)
async def test_buffers_while_nats_is_down(settings, caplog, buffer_size, expected):
    settings.RES_BRIDGE = {**settings.RES_BRIDGE, "EVENT_BUFFER_SIZE": buffer_size}
    server = NatsServer(port=free_port())
    publisher = Publisher(server.url, reconnect_wait=2.0)
    client = None
    try:
        publisher.publish("event.library.warmup.custom", {})
        assert await asyncio.to_thread(publisher.flush, 5)
        server.stop()
        await wait_until(lambda: not publisher.connected)
        with caplog.at_level(logging.ERROR, logger="res_bridge.publisher"):
            publisher.publish("event.library.book.1.change", {"values": {"n": 1}})
            publisher.publish("event.library.book.2.change", {"values": {"n": 2}})
            publisher.publish("system.reset", {"resources": ["library.x"]})
            publisher.publish("event.library.books.add", {"value": 1, "idx": 0})
        assert ("RES event buffer overflow" in caplog.text) == (buffer_size < 4)
        assert not await asyncio.to_thread(publisher.flush, 0.1)
        server, client, recorder = await _restart_and_listen(server)
        assert await recorder.wait(len(expected)) == expected
    finally:
        await asyncio.to_thread(publisher.close, 1)
        if client is not None:
            await client.close()
        server.stop()


async def test_delivers_at_interpreter_exit(nats_url, record):
    messages = await record("event.library.>")
    code = "import res_bridge; res_bridge.publish('event.library.book.9.custom', {'from': 'shell'})"
    process = manage("shell", "-c", code, env={"NATS_URL": nats_url})
    try:
        assert await asyncio.to_thread(process.proc.wait, 30) == 0
        assert await messages.wait(1) == [("event.library.book.9.custom", {"from": "shell"})]
    finally:
        process.stop()


@pytest.mark.django_db(transaction=True)
async def test_inside_the_service_it_uses_the_service_connection(service, record, nc):
    resets = await record("system.>")
    res_bridge.publish_reset(["library.books"], ["library.>"])
    res_bridge.publish_reset()  # nothing to reset: nothing sent
    res_bridge.publish_token_reset(["user.1", "user.2"], "auth.django.auth.refresh")
    res_bridge.publish_token_reset([], "auth.django.auth.refresh")
    assert res_bridge.flush(1)
    await service.flush()
    assert await resets.settle(nc) == [
        ("system.reset", {"resources": ["library.books"], "access": ["library.>"]}),
        ("system.tokenReset", {"tids": ["user.1", "user.2"], "subject": "auth.django.auth.refresh"}),
    ]


@pytest.mark.django_db(transaction=True)
async def test_custom_and_reaccess_events(service, record, nc):
    events = await record("event.>")
    res_bridge.publish_event("library.book.1", "borrowed", {"by": "ann"})
    res_bridge.publish_event("library.book.1", "ping")
    res_bridge.publish_reaccess("library.shelf.2")
    for name in ("change", "query", "a.b", ""):
        with pytest.raises(ValueError):
            res_bridge.publish_event("library.book.1", name)
    await service.flush()
    assert await events.settle(nc) == [
        ("event.library.book.1.borrowed", {"by": "ann"}),
        ("event.library.book.1.ping", None),
        ("event.library.shelf.2.reaccess", None),
    ]
