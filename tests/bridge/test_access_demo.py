"""``manage.py loaddemo``: the demo books, users and shelves, and who may see what."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.models import User
from django.core.management import call_command

from library.models import Book, Loan, Shelf
from res_bridge.access import decide
from res_bridge.models import AccessRule
from res_bridge.registry import registry
from res_bridge.requests import Request
from res_bridge.tokens import token_for
from res_protocol import Access

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def loaddemo() -> str:
    out = io.StringIO()
    call_command("loaddemo", stdout=out)
    return out.getvalue()


def token(username: str) -> Any:
    return token_for(User.objects.get(username=username)) if username else None


def test_loaddemo_loads_the_book_collection_in_order() -> None:
    assert "Demo data loaded" in loaddemo()
    assert list(Book.objects.order_by("pk").values_list("pk", "title", "author")) == [
        (1, "Animal Farm", "George Orwell"),
        (2, "Brave New World", "Aldous Huxley"),
        (3, "Coraline", "Neil Gaiman"),
    ]


def test_loaddemo_creates_the_demo_users() -> None:
    loaddemo()
    assert authenticate(username="admin", password="admin").is_superuser
    for name in ("alice", "bob", "carol"):
        user = authenticate(username=name, password="demo")
        assert user is not None and not user.is_staff and not user.is_superuser


def test_loaddemo_creates_shelves_and_a_loan() -> None:
    loaddemo()
    shelves = {
        s.name: (s.owner.username, [b.title for b in s.books.order_by("pk")]) for s in Shelf.objects.all()
    }
    assert shelves == {
        "Alice's favourites": ("alice", ["Animal Farm", "Coraline"]),
        "Bob's reading list": ("bob", ["Brave New World"]),
    }
    loan = Loan.objects.get()
    assert (loan.book.title, loan.borrower.username) == ("Brave New World", "alice")


# (who asks, resource, access)
DEMO_ACCESS = [
    ("", "library.books", Access(get=True, call="*")),
    ("", "library.book.2", Access(get=True, call="*")),
    ("carol", "library.book.3", Access(get=True, call="*")),
    ("", "library.shelves", Access()),
    ("", "library.shelf.1", Access()),
    ("carol", "library.shelves", Access()),
    ("carol", "library.shelf.1.books", Access()),
    ("alice", "library.shelves", Access(get=True, call="*")),
    ("alice", "library.shelf.2", Access(get=True, call="*")),
    ("alice", "library.shelf.1.books", Access(get=True, call="*")),
    ("bob", "library.shelves", Access(get=True)),
    ("bob", "library.shelf.1", Access(get=True)),
    ("admin", "library.shelf.1", Access(get=True, call="*")),
]


@pytest.mark.parametrize(("who", "rid", "expected"), DEMO_ACCESS)
def test_demo_rules_decide_who_sees_what(who: str, rid: str, expected: Access) -> None:
    loaddemo()
    assert decide(token(who), rid) == expected


def test_loaddemo_resets_changed_data_and_keeps_other_rules() -> None:
    loaddemo()
    Book.objects.create(title="Extra", author="Someone")
    Book.objects.filter(pk=1).update(title="Changed")
    User.objects.filter(username="alice").update(is_active=False)
    AccessRule.objects.filter(pattern="library.books").delete()
    own = AccessRule.objects.create(pattern="library.loans", applies_to="staff")
    loaddemo()
    assert list(Book.objects.values_list("title", flat=True)) == [
        "Animal Farm",
        "Brave New World",
        "Coraline",
    ]
    assert authenticate(username="alice", password="demo") is not None
    assert AccessRule.objects.count() == 7 and AccessRule.objects.filter(pk=own.pk).exists()
    assert Shelf.objects.count() == 2 and Loan.objects.count() == 1
    assert Book.objects.create(title="Next", author="Someone").pk > 3  # ids after the demo ones stay free


def test_a_borrower_may_read_and_return_their_loan_and_nobody_else_may() -> None:
    """borrow answers with the new loan's resource: its borrower may get it and return it (``delete``), by
    ``LoanResource.has_access``; other users may not, nor read any book's loans."""
    loaddemo()
    request = Request(kind="call", resource_name="library.book.1", method="borrow", token=token("bob"))
    borrow = registry.resource_for(Book).method_handler("borrow", True)
    loan_rid = borrow(request, Book.objects.get(pk=1)).rid
    alices = f"library.loan.{Loan.objects.get(borrower__username='alice').pk}"
    assert decide(token("bob"), loan_rid) == Access(get=True, call="delete")
    assert decide(token("alice"), alices) == Access(get=True, call="delete")
    for who, rid in (("carol", loan_rid), ("alice", loan_rid), ("", loan_rid), ("bob", alices)):
        assert decide(token(who), rid) == Access(), (who, rid)
    for who in ("alice", "bob", "carol", ""):
        assert decide(token(who), "library.book.1.loans") == Access(), who
        assert decide(token(who), "library.book.2.loans") == Access(), who
    assert decide(token("admin"), "library.book.1.loans") == Access(get=True, call="*")


def test_loaddemo_removes_the_rule_that_let_everybody_read_loans() -> None:
    AccessRule.objects.create(pattern="library.loan.*", applies_to="authenticated", can_get=True)
    loaddemo()
    assert not AccessRule.objects.filter(pattern="library.loan.*").exists()
