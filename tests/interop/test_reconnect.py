"""ResClient reconnects when the gateway comes back, and resynchronises what it had cached."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from tests.interop.gateway import Gateway
from tests.interop.service import BOOKS


@pytest.fixture
def gateway(nats_url: str) -> Iterator[Gateway]:
    """A gateway of this test's own, since the test stops and restarts it."""
    gw = Gateway(nats_url)
    yield gw
    gw.stop()


async def test_resync_after_gateway_restart(gateway, books, resclient):
    client = await resclient()
    rid = books.rid("book.1")
    await client.get(rid)
    await client.get(books.rid("books"))
    await client.next_event(client="connect")

    await asyncio.to_thread(gateway.stop)
    await client.next_event(client="disconnect")
    books.set_book(1, title="Homage to Catalonia")
    await asyncio.to_thread(gateway.start)

    await client.next_event(client="connect", wait=20)
    change = await client.next_event(event="change", rid=rid, wait=20)
    assert change["changed"] == ["title"]
    expected = {**BOOKS[0], "title": "Homage to Catalonia"}
    assert change["value"] == expected
    assert (await client.state(rid))["value"] == expected
    assert (await client.state(books.rid("books")))["value"] == [expected, BOOKS[1]]

    await client.call(rid, "set", {"title": "Burmese Days"})
    event = await client.next_event(event="change", rid=rid)
    assert event["value"]["title"] == "Burmese Days"
