"""ResClient reconnects when the gateway comes back, and resynchronises what it had cached."""

from __future__ import annotations

import asyncio

from tests.interop.service import BOOKS


async def test_resync_after_gateway_restart(gateway, books, resclient):
    client = await resclient()
    await client.get("interop.book.1")
    await client.get("interop.books")
    await client.next_event(client="connect")

    await asyncio.to_thread(gateway.stop)
    await client.next_event(client="disconnect")
    books.set_book(1, title="Homage to Catalonia")
    await asyncio.to_thread(gateway.start)

    await client.next_event(client="connect", wait=20)
    change = await client.next_event(event="change", rid="interop.book.1", wait=20)
    assert change["changed"] == ["title"]
    expected = {**BOOKS[0], "title": "Homage to Catalonia"}
    assert change["value"] == expected
    assert (await client.state("interop.book.1"))["value"] == expected
    assert (await client.state("interop.books"))["value"] == [expected, BOOKS[1]]

    await client.call("interop.book.1", "set", {"title": "Burmese Days"})
    event = await client.next_event(event="change", rid="interop.book.1")
    assert event["value"]["title"] == "Burmese Days"
