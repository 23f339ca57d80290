"""ResClient gets models and collections through the gateway and sees changes made by another client."""

from __future__ import annotations

from tests.interop.service import BOOKS


def book(books, book_id: int, **values: str) -> dict:
    """A book as the driver prints it."""
    return {"rid": books.rid(f"book.{book_id}"), "type": "model", "value": {**BOOKS[book_id - 1], **values}}


async def test_get_model(books, resclient):
    client = await resclient()

    assert await client.get(books.rid("book.1")) == book(books, 1)


async def test_get_collection_of_references(books, resclient):
    client = await resclient()

    collection = await client.get(books.rid("books"))

    assert collection == {"rid": books.rid("books"), "type": "collection", "value": BOOKS}
    assert await client.get(books.rid("book.2")) == book(books, 2)


async def test_change_reaches_every_subscribed_client(books, resclient):
    alice, bob = await resclient(), await resclient()
    rid = books.rid("book.1")
    await alice.get(rid)
    await bob.get(rid)

    await alice.call(rid, "set", {"title": "Nineteen Eighty-Four"})

    for client in (alice, bob):
        event = await client.next_event(event="change", rid=rid)
        assert event["changed"] == ["title"]
        assert event["value"] == {**BOOKS[0], "title": "Nineteen Eighty-Four"}


async def test_add_and_remove_reach_other_client(books, resclient):
    alice, bob = await resclient(), await resclient()
    rid = books.rid("books")
    await bob.get(rid)

    created = await alice.call(rid, "new", {"title": "Emma", "author": "Jane Austen"})
    added = await bob.next_event(event="add", rid=rid)
    assert added["idx"] == 2
    assert (
        added["item"]
        == created
        == {
            "rid": books.rid("book.3"),
            "type": "model",
            "value": {"id": 3, "title": "Emma", "author": "Jane Austen"},
        }
    )

    await alice.call(rid, "delete", {"id": 1})
    removed = await bob.next_event(event="remove", rid=rid)
    assert removed["idx"] == 0
    assert removed["item"] == book(books, 1)
    assert (await bob.state(rid))["value"] == [BOOKS[1], created["value"]]
