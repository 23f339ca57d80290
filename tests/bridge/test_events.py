"""Events from the ORM: exact subjects and payloads, published only after commit."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.models import User
from django.db import connection, transaction

import res_bridge
from library.models import Book, Loan, Shelf
from res_bridge.events import QUERY_SUBJECT_PREFIX
from res_bridge.registry import registry
from res_protocol import dumps, loads
from tests.bridge.conftest import db

pytestmark = pytest.mark.django_db(transaction=True)


def ref(model: str, pk: int) -> dict:
    return {"rid": f"library.{model}.{pk}"}


def without_queries(messages: list) -> list:
    return [m for m in messages if not m[0].endswith(".query")]


@pytest.fixture
async def events(service, record):
    """Every event the service publishes from here on."""
    return await record("event.>")


async def settle(service, events, nc) -> list:
    await service.flush()
    return await events.settle(nc)


async def test_create_update_delete(service, events, nc):
    book = await db(Book.objects.create)(title="Animal Farm", author="George Orwell")
    book.author = "Eric Blair"
    await db(book.save)()
    await db(book.save)()  # nothing changed: no event
    pk = book.pk
    await db(book.delete)()
    messages = await settle(service, events, nc)
    assert without_queries(messages) == [
        ("event.library.books.add", {"value": ref("book", pk), "idx": 0}),
        (f"event.library.book.{pk}.change", {"values": {"author": "Eric Blair"}}),
        ("event.library.books.remove", {"idx": 0}),
        (f"event.library.book.{pk}.loans.delete", None),
        (f"event.library.book.{pk}.delete", None),
    ]
    queries = [m for m in messages if m[0].endswith(".query")]
    assert [s for s, _ in queries] == ["event.library.books.query"] * 3
    assert all(p["subject"].startswith(QUERY_SUBJECT_PREFIX + ".") for _, p in queries)


async def test_add_index_follows_the_collection_order(service, events, nc, monkeypatch):
    resource = registry.resource_for(Book)
    monkeypatch.setitem(resource.__dict__, "order_by", ["title", "pk"])
    monkeypatch.delitem(resource.__dict__, "order_attnames", raising=False)
    b = await db(Book.objects.create)(title="B", author="x")
    d = await db(Book.objects.create)(title="D", author="x")
    a = await db(Book.objects.create)(title="A", author="x")
    c = await db(Book.objects.create)(title="C", author="x")
    a.title = "E"  # moves from first to last
    await db(a.save)()
    assert without_queries(await settle(service, events, nc)) == [
        ("event.library.books.add", {"value": ref("book", b.pk), "idx": 0}),
        ("event.library.books.add", {"value": ref("book", d.pk), "idx": 1}),
        ("event.library.books.add", {"value": ref("book", a.pk), "idx": 0}),
        ("event.library.books.add", {"value": ref("book", c.pk), "idx": 2}),
        (f"event.library.book.{a.pk}.change", {"values": {"title": "E"}}),
        ("event.library.books.remove", {"idx": 0}),
        ("event.library.books.add", {"value": ref("book", a.pk), "idx": 3}),
    ]


async def test_rolled_back_writes_publish_nothing(service, events, nc):
    def write_and_fail() -> None:
        with transaction.atomic():
            Book.objects.create(title="Never", author="Nobody")
            raise RuntimeError("rollback")

    with pytest.raises(RuntimeError):
        await db(write_and_fail)()
    assert await settle(service, events, nc) == []
    assert await db(Book.objects.count)() == 0


async def test_events_wait_for_the_commit(service, events, nc):
    def write_in_transaction() -> list:
        with transaction.atomic():
            Book.objects.create(title="Later", author="Someone")
            seen_inside = list(events.messages)
        return seen_inside

    assert await db(write_in_transaction)() == []
    assert [s for s, _ in await settle(service, events, nc)][:1] == ["event.library.books.add"]


def _users_books_loan() -> tuple[User, Book, Book, Loan]:
    user = User.objects.create_user("reader")
    first = Book.objects.create(title="A", author="X")
    second = Book.objects.create(title="B", author="Y")
    loan = Loan.objects.create(book=first, borrower=user, due=datetime.date(2030, 1, 1))
    return user, first, second, loan


async def test_foreign_key_moves_between_relation_collections(service, events, nc):
    user, first, second, loan = await db(_users_books_loan)()
    await service.flush()
    await events.settle(nc)
    events.clear()
    loan.book = second
    await db(loan.save)()
    pk = loan.pk
    await db(loan.delete)()
    assert await settle(service, events, nc) == [
        (f"event.library.loan.{pk}.change", {"values": {"book": ref("book", second.pk)}}),
        (f"event.library.book.{first.pk}.loans.remove", {"idx": 0}),
        (f"event.library.book.{second.pk}.loans.add", {"value": ref("loan", pk), "idx": 0}),
        (f"event.library.book.{second.pk}.loans.remove", {"idx": 0}),
        (f"event.library.loan.{pk}.delete", None),
    ]


async def test_created_loan_is_added_to_its_book(service, events, nc):
    user, first, second, loan = await db(_users_books_loan)()
    messages = without_queries(await settle(service, events, nc))
    assert (f"event.library.book.{first.pk}.loans.add", {"value": ref("loan", loan.pk), "idx": 0}) in messages


def _shelf_and_books() -> tuple[Shelf, list[Book]]:
    user = User.objects.create_user("owner")
    books = [Book.objects.create(title=t, author="X") for t in "ABCD"]
    return Shelf.objects.create(name="Mine", owner=user), books


async def test_many_to_many_changes(service, events, nc):
    shelf, (a, b, c, d) = await db(_shelf_and_books)()
    b_pk = b.pk
    await service.flush()
    await events.settle(nc)
    events.clear()
    name = f"event.library.shelf.{shelf.pk}.books"
    await db(shelf.books.add)(c, a)
    await db(shelf.books.add)(b)
    await db(d.shelves.add)(shelf)  # from the other side
    await db(shelf.books.remove)(a, c)
    await db(b.delete)()  # its row in the through table goes without an m2m signal
    await db(shelf.books.clear)()
    messages = [m for m in await settle(service, events, nc) if m[0].startswith(name)]
    assert messages == [
        (f"{name}.add", {"value": ref("book", a.pk), "idx": 0}),
        (f"{name}.add", {"value": ref("book", c.pk), "idx": 1}),
        (f"{name}.add", {"value": ref("book", b_pk), "idx": 1}),
        (f"{name}.add", {"value": ref("book", d.pk), "idx": 3}),
        (f"{name}.remove", {"idx": 2}),
        (f"{name}.remove", {"idx": 0}),
        (f"{name}.remove", {"idx": 0}),
        (f"{name}.remove", {"idx": 0}),
    ]


async def test_deleting_the_owner_deletes_its_collections(service, events, nc):
    shelf, books = await db(_shelf_and_books)()
    await db(shelf.books.add)(*books)
    await service.flush()
    await events.settle(nc)
    events.clear()
    pk = shelf.pk
    await db(shelf.delete)()
    assert without_queries(await settle(service, events, nc)) == [
        ("event.library.shelves.remove", {"idx": 0}),
        (f"event.library.shelf.{pk}.books.delete", None),
        (f"event.library.shelf.{pk}.delete", None),
    ]


async def test_writes_the_signals_miss_are_captured(service, events, nc, record):
    resets = await record("system.reset")
    book = await db(Book.objects.create)(title="Old", author="X")
    await settle(service, events, nc)
    events.clear()
    resets.clear()

    def bulk_writes() -> None:
        with transaction.atomic():
            Book.objects.filter(pk=book.pk).update(title="New")
            Book.objects.bulk_create([Book(title="Bulk", author="Y")])
            with connection.cursor() as cursor:
                cursor.execute(f"DELETE FROM {Book._meta.db_table} WHERE id = %s", [book.pk])

    await db(bulk_writes)()
    assert [(s, p) for s, p in await settle(service, events, nc) if not s.endswith(".query")] == [
        (f"event.library.book.{book.pk}.change", {"values": {"title": "New"}}),
        (f"event.library.book.{book.pk}.loans.delete", None),
        (f"event.library.book.{book.pk}.delete", None),
    ]
    # the relay may take the rows in one pass or two: a query event for each
    assert {s for s, _ in events.messages if s.endswith(".query")} == {"event.library.books.query"}
    assert resets.messages == [("system.reset", {"resources": ["library.books"]})]


async def test_announcements_send_resets(service, record, nc):
    resets = await record("system.reset")
    book = await db(Book.objects.create)(title="Old", author="X")
    await db(res_bridge.announce_change)(book)
    await db(res_bridge.announce_reset)(Book)
    pk = book.pk
    await db(book.delete)()
    await db(res_bridge.announce_change)(Book, pk=pk)
    assert await settle(service, resets, nc) == [
        ("system.reset", {"resources": ["library.books", "library.shelf.*.books"]}),
        (
            "system.reset",
            {
                "resources": [
                    "library.book.*",
                    "library.book.*.loans",
                    "library.books",
                    "library.shelf.*.books",
                ]
            },
        ),
        ("system.reset", {"resources": ["library.books", "library.shelf.*.books"]}),
    ]


async def test_query_events_are_answered_with_the_query_result(service, events, nc):
    orwell = await db(Book.objects.create)(title="Animal Farm", author="George Orwell")
    await db(Book.objects.create)(title="Coraline", author="Neil Gaiman")
    messages = await settle(service, events, nc)
    subject = [p["subject"] for s, p in messages if s == "event.library.books.query"][-1]
    reply = loads((await nc.request(subject, dumps({"query": "author=orwell"}), timeout=5)).data)
    assert reply == {"result": {"collection": [ref("book", orwell.pk)]}}
    reply = loads((await nc.request(subject, dumps({"query": "limit=500"}), timeout=5)).data)
    assert reply["error"]["code"] == "system.invalidQuery"


async def test_expired_query_subjects_are_not_answered(service, nc):
    import nats.errors

    subject = f"{QUERY_SUBJECT_PREFIX}.1000.0123456789abcdef.library.books"
    with pytest.raises(nats.errors.TimeoutError):
        await nc.request(subject, dumps({"query": "author=x"}), timeout=0.5)
