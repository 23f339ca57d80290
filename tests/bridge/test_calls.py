"""Call requests: set, new, delete, custom methods, and the errors they answer with."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from library.models import Book, Loan, Shelf
from res_bridge import ModelResource
from res_bridge.registry import Registry
from res_bridge.service import Service
from res_bridge.tokens import token_for
from tests.bridge.conftest import db

pytestmark = pytest.mark.django_db(transaction=True)


def call(params=None, token=None) -> dict:
    return {"cid": "conn1", "token": token, "params": params}


def invalid(message: str, data: dict) -> dict:
    return {"error": {"code": "system.invalidParams", "message": message, "data": data}}


@pytest.fixture
async def book(service) -> Book:
    created = await db(Book.objects.create)(title="Animal Farm", author="George Orwell")
    await service.flush()
    return created


async def test_set_publishes_the_change_before_replying(service, ask, record, nc, book):
    both = await record(">")
    reply = await ask(f"call.library.book.{book.pk}.set", call({"title": "1984"}))
    assert reply == {"result": None}
    seen = [(s, p) for s, p in await both.settle(nc) if not s.startswith("_INBOX") or p == reply]
    events = [m for m in seen if m[0].startswith("event.")]
    assert events[:1] == [(f"event.library.book.{book.pk}.change", {"values": {"title": "1984"}})]
    subjects = [s for s, _ in seen]
    reply_at = next(i for i, (s, p) in enumerate(seen) if s.startswith("_INBOX") and p == reply)
    assert subjects.index(f"event.library.book.{book.pk}.change") < reply_at
    assert (await db(Book.objects.get)(pk=book.pk)).title == "1984"


async def test_set_without_a_change_publishes_nothing(service, ask, record, nc, book):
    events = await record("event.>")
    assert await ask(f"call.library.book.{book.pk}.set", call({"title": "Animal Farm"})) == {"result": None}
    assert await ask(f"call.library.book.{book.pk}.set", call(None)) == {"result": None}
    assert await events.settle(nc) == []


@pytest.mark.parametrize(
    "params,expected",
    [
        ({"title": 42}, invalid("Title must be a string", {"title": ["Title must be a string"]})),
        ({"title": ""}, invalid("Title must not be empty", {"title": ["Title must not be empty"]})),
        ({"author": "  "}, invalid("Author must not be empty", {"author": ["Author must not be empty"]})),
        (
            {"author": None},
            invalid("This field may not be null.", {"author": ["This field may not be null."]}),
        ),
        ([1, 2], {"error": {"code": "system.invalidParams", "message": "Params must be an object"}}),
    ],
)
async def test_set_validation(service, ask, record, nc, book, params, expected):
    events = await record("event.>")
    assert await ask(f"call.library.book.{book.pk}.set", call(params)) == expected
    assert await events.settle(nc) == []


@pytest.mark.parametrize(
    "subject,expected",
    [
        ("call.library.book.999999.set", "system.notFound"),
        ("call.library.nothing.set", "system.notFound"),
        ("call.library.book.{pk}.fly", "system.methodNotFound"),
        ("call.library.books.set", "system.methodNotFound"),
        ("call.library.book.{pk}.loans.new", "system.methodNotFound"),
        ("call.library.loan.{pk}.set", "system.methodNotFound"),
    ],
)
async def test_call_errors(service, ask, book, subject, expected):
    reply = await ask(subject.format(pk=book.pk), call({"title": "x"}))
    assert reply["error"]["code"] == expected


async def test_new_replies_with_a_resource_and_adds_to_the_collection(service, ask, record, nc, book):
    events = await record("event.library.books.add")
    reply = await ask("call.library.books.new", call({"title": "Coraline", "author": "Neil Gaiman"}))
    created = await db(Book.objects.get)(title="Coraline")
    assert reply == {"resource": {"rid": f"library.book.{created.pk}"}}
    assert await events.wait(1) == [
        ("event.library.books.add", {"value": {"rid": f"library.book.{created.pk}"}, "idx": 1})
    ]


@pytest.mark.parametrize(
    "params,expected",
    [
        (
            {"title": "Coraline"},
            invalid(
                "Must provide both title and author",
                {"non_field_errors": ["Must provide both title and author"]},
            ),
        ),
        (
            {"title": "", "author": "Neil Gaiman"},
            invalid(
                "Must provide both title and author",
                {"non_field_errors": ["Must provide both title and author"]},
            ),
        ),
        (
            None,
            invalid(
                "Must provide both title and author",
                {"non_field_errors": ["Must provide both title and author"]},
            ),
        ),
        (
            {"title": "Coraline", "author": 7},
            invalid("Author must be a string", {"author": ["Author must be a string"]}),
        ),
    ],
)
async def test_new_validation(service, ask, params, expected):
    assert await ask("call.library.books.new", call(params)) == expected
    assert await db(Book.objects.count)() == 0


async def test_delete_on_the_collection(service, ask, record, nc, book):
    events = await record("event.>")
    assert await ask("call.library.books.delete", call({"id": "1"})) == {
        "error": {"code": "system.invalidParams", "message": "Book ID must be a number"}
    }
    assert await ask("call.library.books.delete", call({"id": 999999})) == {"result": None}
    assert await events.settle(nc) == []
    assert await ask("call.library.books.delete", call({"id": book.pk})) == {"result": None}
    messages = await events.wait(4)
    assert messages[:3] == [
        ("event.library.books.remove", {"idx": 0}),
        (f"event.library.book.{book.pk}.loans.delete", None),
        (f"event.library.book.{book.pk}.delete", None),
    ]
    assert messages[3][0] == "event.library.books.query"
    assert not await db(Book.objects.filter(pk=book.pk).exists)()


async def test_delete_on_the_model(service, ask, record, book):
    events = await record(f"event.library.book.{book.pk}.delete")
    assert await ask(f"call.library.book.{book.pk}.delete", call()) == {"result": None}
    assert await events.wait(1) == [(f"event.library.book.{book.pk}.delete", None)]


def _reader_and_shelf() -> tuple[User, Shelf]:
    user = User.objects.create_user("reader")
    return user, Shelf.objects.create(name="Mine", owner=user)


async def test_custom_methods(service, ask, record, book):
    user, shelf = await db(_reader_and_shelf)()
    events = await record(f"event.library.shelf.{shelf.pk}.books.*")
    reply = await ask(f"call.library.shelf.{shelf.pk}.addBook", call({"id": book.pk}))
    assert reply == {"result": None}
    assert await events.wait(1) == [
        (f"event.library.shelf.{shelf.pk}.books.add", {"value": {"rid": f"library.book.{book.pk}"}, "idx": 0})
    ]
    assert (await ask(f"call.library.shelf.{shelf.pk}.addBook", call({"id": "x"})))["error"] == {
        "code": "system.invalidParams",
        "message": "Book ID must be a number",
    }
    reply = await ask(f"call.library.book.{book.pk}.borrow", call(token=token_for(user)))
    loan = await db(Loan.objects.get)(book=book)
    assert reply == {"resource": {"rid": f"library.loan.{loan.pk}"}}
    assert loan.borrower_id == user.pk
    assert (await ask(f"call.library.book.{book.pk}.borrow", call()))["error"][
        "code"
    ] == "system.accessDenied"


async def test_new_shelf_belongs_to_the_caller(service, ask):
    user, _ = await db(_reader_and_shelf)()
    reply = await ask("call.library.shelves.new", call({"name": "Later"}, token=token_for(user)))
    shelf = await db(Shelf.objects.get)(name="Later")
    assert reply == {"resource": {"rid": f"library.shelf.{shelf.pk}"}}
    assert shelf.owner_id == user.pk


class LoanWithNew(ModelResource):
    model = Loan
    rid = "refs.loan.{pk}"
    fields = ["id", "book", "due"]
    collection = "refs.loans"

    def perform_create(self, serializer, request):
        return serializer.save(borrower=request.user)


class BookForRefs(ModelResource):
    model = Book
    rid = "refs.book.{pk}"
    fields = ["id", "title"]


@pytest.mark.parametrize(
    "book,expected",
    [
        ("{pk}", None),
        ({"rid": "refs.book.{pk}"}, None),
        ({"rid": "refs.book.999999"}, {"book": ['Invalid pk "999999" - object does not exist.']}),
        ({"rid": "library.book.{pk}"}, {"book": ["Incorrect type. Expected pk value, received dict."]}),
    ],
)
async def test_references_in_params_name_rows(nats_url, ask, book, expected):
    registry = Registry()
    registry.register(LoanWithNew)
    registry.register(BookForRefs)
    service = Service(registry, nats_url=nats_url, queue_group="refs")
    await service.start()
    try:
        user, _ = await db(_reader_and_shelf)()
        target = await db(Book.objects.create)(title="Referenced", author="X")
        value = (
            int(book.format(pk=target.pk))
            if isinstance(book, str)
            else {"rid": book["rid"].format(pk=target.pk)}
        )
        reply = await ask(
            "call.refs.loans.new", call({"book": value, "due": "2030-05-06"}, token=token_for(user))
        )
        if expected is None:
            loan = await db(Loan.objects.get)(book=target)
            assert reply == {"resource": {"rid": f"refs.loan.{loan.pk}"}}
            assert await ask(f"get.refs.loan.{loan.pk}") == {
                "result": {
                    "model": {"id": loan.pk, "book": {"rid": f"refs.book.{target.pk}"}, "due": "2030-05-06"}
                }
            }
        else:
            assert reply["error"]["data"] == expected
    finally:
        await service.stop()
