"""ResClient gets models and collections through the gateway and sees changes made by another client."""

from __future__ import annotations

from tests.interop.service import BOOKS


def book(book_id: int, **values: str) -> dict:
    return {"rid": f"interop.book.{book_id}", "type": "model", "value": {**BOOKS[book_id - 1], **values}}


async def test_get_model(books, resclient):
    client = await resclient()

    assert await client.get("interop.book.1") == book(1)


async def test_get_collection_of_references(books, resclient):
    client = await resclient()

    assert await client.get("interop.books") == {"rid": "interop.books", "type": "collection", "value": BOOKS}
    assert await client.get("interop.book.2") == book(2)


async def test_change_reaches_every_subscribed_client(books, resclient):
    alice, bob = await resclient(), await resclient()
    await alice.get("interop.book.1")
    await bob.get("interop.book.1")

    await alice.call("interop.book.1", "set", {"title": "Nineteen Eighty-Four"})

    for client in (alice, bob):
        event = await client.next_event(event="change", rid="interop.book.1")
        assert event["changed"] == ["title"]
        assert event["value"] == {**BOOKS[0], "title": "Nineteen Eighty-Four"}


async def test_add_and_remove_reach_other_client(books, resclient):
    alice, bob = await resclient(), await resclient()
    await bob.get("interop.books")

    created = await alice.call("interop.books", "new", {"title": "Emma", "author": "Jane Austen"})
    added = await bob.next_event(event="add", rid="interop.books")
    assert added["idx"] == 2
    assert (
        added["item"]
        == created
        == {
            "rid": "interop.book.3",
            "type": "model",
            "value": {"id": 3, "title": "Emma", "author": "Jane Austen"},
        }
    )

    await alice.call("interop.books", "delete", {"id": 1})
    removed = await bob.next_event(event="remove", rid="interop.books")
    assert removed["idx"] == 0
    assert removed["item"] == book(1)
    assert (await bob.state("interop.books"))["value"] == [BOOKS[1], created["value"]]
