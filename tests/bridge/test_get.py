"""Get requests: models, collections, relation collections and query collections, and their errors."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.models import User

from library.models import Book, Loan, Shelf
from tests.bridge.conftest import db

pytestmark = pytest.mark.django_db(transaction=True)

BOOKS = [("Animal Farm", "George Orwell"), ("Brave New World", "Aldous Huxley"), ("Coraline", "Neil Gaiman")]


@pytest.fixture
async def books() -> list[Book]:
    return [await db(Book.objects.create)(title=t, author=a) for t, a in BOOKS]


async def test_get_book_model(service, ask, books):
    book = books[0]
    reply = await ask(f"get.library.book.{book.pk}")
    assert reply == {"result": {"model": {"id": book.pk, "title": "Animal Farm", "author": "George Orwell"}}}


async def test_get_books_collection_ordered_by_id(service, ask, books):
    reply = await ask("get.library.books")
    assert reply == {"result": {"collection": [{"rid": f"library.book.{b.pk}"} for b in books]}}


async def test_empty_payload_and_null_fields_are_absent(service, ask, books):
    assert await ask("get.library.books", raw=b"") == await ask("get.library.books", {"query": None})


@pytest.mark.parametrize(
    "rid",
    [
        "library.book.999999",
        "library.book.abc",
        "library.nothing",
        "library.book.1.unknown",
        "library.books.x",
    ],
)
async def test_unknown_resources_are_not_found(service, ask, books, rid):
    reply = await ask(f"get.{rid}")
    assert reply == {"error": {"code": "system.notFound", "message": "Not found"}}


async def test_invalid_json_payload_is_an_internal_error(service, ask):
    reply = await ask("get.library.books", raw=b"{not json")
    assert reply["error"]["code"] == "system.internalError"


def _shelf_with_loans() -> tuple[Shelf, Book, Loan]:
    user = User.objects.create_user("reader")
    first, second = Book.objects.create(title="A", author="X"), Book.objects.create(title="B", author="Y")
    shelf = Shelf.objects.create(name="Favourites", owner=user)
    shelf.books.add(second, first)
    loan = Loan.objects.create(book=first, borrower=user, due=datetime.date(2030, 1, 2))
    return shelf, first, loan


async def test_references_and_relation_collections(service, ask):
    shelf, book, loan = await db(_shelf_with_loans)()
    assert await ask(f"get.library.shelf.{shelf.pk}") == {
        "result": {
            "model": {
                "id": shelf.pk,
                "name": "Favourites",
                "owner_id": shelf.owner_id,
                "books": {"rid": f"library.shelf.{shelf.pk}.books"},
            }
        }
    }
    assert await ask(f"get.library.shelf.{shelf.pk}.books") == {
        "result": {"collection": [{"rid": f"library.book.{book.pk}"}, {"rid": f"library.book.{book.pk + 1}"}]}
    }
    assert await ask(f"get.library.loan.{loan.pk}") == {
        "result": {
            "model": {
                "id": loan.pk,
                "book": {"rid": f"library.book.{book.pk}"},
                "borrower_id": loan.borrower_id,
                "due": "2030-01-02",
            }
        }
    }
    assert await ask(f"get.library.book.{book.pk}.loans") == {
        "result": {"collection": [{"rid": f"library.loan.{loan.pk}"}]}
    }
    assert await ask("get.library.shelves") == {
        "result": {"collection": [{"rid": f"library.shelf.{shelf.pk}"}]}
    }
    assert (await ask("get.library.book.999999.loans"))["error"]["code"] == "system.notFound"


QUERIES = [
    # query, titles in the result, normalized query
    ("author=orwell", ["Animal Farm"], "author=orwell"),
    ("limit=100&offset=0&author=", ["Animal Farm", "Brave New World", "Coraline"], "limit=100"),
    ("order=", ["Animal Farm", "Brave New World", "Coraline"], "limit=100"),
    ("limit=100&author=orwell", ["Animal Farm"], "author=orwell"),
    ("order=-title&limit=2", ["Coraline", "Brave New World"], "limit=2&order=-title"),
    ("offset=1&order=author", ["Animal Farm", "Coraline"], "offset=1&order=author"),
    ("title=e&author=a", ["Brave New World", "Coraline"], "author=a&title=e"),
    ("offset=10", [], "offset=10"),
]


@pytest.mark.parametrize("query,titles,normalized", QUERIES)
async def test_query_collection(service, ask, books, query, titles, normalized):
    by_title = {b.title: b for b in books}
    reply = await ask("get.library.books", {"query": query})
    assert reply == {
        "result": {
            "collection": [{"rid": f"library.book.{by_title[t].pk}"} for t in titles],
            "query": normalized,
        }
    }


@pytest.mark.parametrize(
    "query,message",
    [
        ("limit=101", "Invalid query: limit must not exceed 100"),
        ("limit=0", "Invalid query: limit must be an integer of at least 1"),
        ("offset=-1", "Invalid query: offset must be an integer of at least 0"),
        ("limit=ten", "Invalid query: limit must be an integer of at least 1"),
        ("color=red", "Invalid query: unknown parameter color"),
        ("order=due", "Invalid query: cannot order by due"),
        ("author=a&author=b", "Invalid query: author given more than once"),
        ("a&&b", "Invalid query: malformed query string"),
    ],
)
async def test_invalid_queries(service, ask, query, message):
    reply = await ask("get.library.books", {"query": query})
    assert reply == {"error": {"code": "system.invalidQuery", "message": message}}


async def test_query_on_a_plain_resource_is_ignored(service, ask, books):
    reply = await ask(f"get.library.book.{books[0].pk}", {"query": "x=1"})
    assert reply["result"]["model"]["title"] == "Animal Farm"
    assert "query" not in reply["result"]


async def test_page_size_comes_from_the_settings(service, ask, books, settings):
    settings.RES_BRIDGE = {**settings.RES_BRIDGE, "MAX_PAGE_SIZE": 2}
    reply = await ask("get.library.books", {"query": "offset=0"})
    assert reply == {
        "result": {"collection": [{"rid": f"library.book.{b.pk}"} for b in books[:2]], "query": "limit=2"}
    }
    reply = await ask("get.library.books", {"query": "limit=3"})
    assert reply["error"] == {
        "code": "system.invalidQuery",
        "message": "Invalid query: limit must not exceed 2",
    }
