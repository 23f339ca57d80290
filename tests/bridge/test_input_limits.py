"""Bad input the service refuses with a clear error and without a traceback: long queries, deep params,
and a row asked for under any but its canonical RID."""

from __future__ import annotations

import logging

import pytest

from library.models import Book
from res_bridge.queries import MAX_QUERY_LENGTH
from tests.bridge.conftest import db

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
async def book() -> Book:
    return await db(Book.objects.create)(title="Animal Farm", author="George Orwell")


async def test_a_long_query_is_invalid(service, ask, book, caplog):
    caplog.set_level(logging.INFO)
    within = await ask("get.library.books", {"query": "title=" + "x" * (MAX_QUERY_LENGTH - 6)})
    assert within == {"result": {"collection": [], "query": f"title={'x' * (MAX_QUERY_LENGTH - 6)}"}}
    reply = await ask("get.library.books", {"query": "title=" + "%" * 60_000})
    assert reply == {
        "error": {
            "code": "system.invalidQuery",
            "message": f"Invalid query: longer than {MAX_QUERY_LENGTH} characters",
        }
    }
    assert "Traceback" not in caplog.text


def nested(depth: int) -> str:
    return "[" * depth + "1" + "]" * depth


async def test_deep_params_are_invalid(service, ask, book, caplog):
    payload = f'{{"params":{{"title":{nested(1000)}}}}}'.encode()
    reply = await ask(f"call.library.book.{book.pk}.set", raw=payload)
    assert reply == {
        "error": {"code": "system.invalidParams", "message": "Invalid params: nested deeper than 64 levels"}
    }
    assert "Traceback" not in caplog.text


@pytest.mark.parametrize("key", ["0{pk}", "00{pk}", "+{pk}", "{pk}_", "0x{pk}", "-0{pk}"])
async def test_a_row_is_served_under_its_canonical_rid_only(service, ask, book, key):
    assert (await ask(f"get.library.book.{book.pk}"))["result"]["model"]["id"] == book.pk
    rid = f"library.book.{key.format(pk=book.pk)}"
    assert await ask(f"get.{rid}") == {"error": {"code": "system.notFound", "message": "Not found"}}
    assert (await ask(f"get.{rid}.loans"))["error"]["code"] == "system.notFound"
    assert (await ask(f"call.{rid}.set", {"params": {"title": "X"}}))["error"]["code"] == "system.notFound"
    assert (await db(Book.objects.get)(pk=book.pk)).title == "Animal Farm"
