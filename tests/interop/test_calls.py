"""Calls from ResClient through the gateway: results, resource responses and errors."""

from __future__ import annotations

import pytest

from res_protocol import ResError


async def test_set_returns_null_and_updates_the_cached_model(books, resclient):
    client = await resclient()
    rid = books.rid("book.2")
    await client.get(rid)

    assert await client.call(rid, "set", {"author": "A. Huxley"}) is None

    event = await client.next_event(event="change", rid=rid)
    assert event["value"]["author"] == "A. Huxley"
    assert books.books[2]["author"] == "A. Huxley"


async def test_new_returns_the_created_resource(books, resclient):
    client = await resclient()

    created = await client.call(books.rid("books"), "new", {"title": "Dune", "author": "Frank Herbert"})

    assert created == {
        "rid": books.rid("book.3"),
        "type": "model",
        "value": {"id": 3, "title": "Dune", "author": "Frank Herbert"},
    }


@pytest.mark.parametrize(
    ("name", "method", "params", "code", "data"),
    [
        ("book.1", "set", {"title": ""}, "system.invalidParams", None),
        ("books", "new", {"title": "No author"}, "system.invalidParams", None),
        ("book.99", "set", {"title": "Lost"}, "system.notFound", None),
        ("book.1", "rename", {"title": "x"}, "system.methodNotFound", None),
        ("book.1", "fail", None, "interop.bookFailed", {"reason": "test"}),
    ],
)
async def test_call_errors_reach_the_client(books, resclient, name, method, params, code, data):
    client = await resclient()

    with pytest.raises(ResError) as raised:
        await client.call(books.rid(name), method, params)

    assert raised.value.code == code
    if data is not None:
        assert raised.value.data == data
    assert books.books[1]["title"] == "Animal Farm"
