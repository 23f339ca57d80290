"""Relation collections: readable when their owner and all their items are (or a rule of their own says so);
permissions on the item model never open them.

Every relation shape the registry serves: a forward many-to-many (``library.shelf.<id>.books``), a reverse
many-to-many (``library.book.<id>.shelves``) and a reverse foreign key (``library.book.<id>.loans``).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission, User

from library.models import Book, Loan, Shelf
from res_bridge import ModelResource, Request
from res_bridge.access import AccessPolicy, rule_cache
from res_bridge.models import AccessRule
from res_bridge.registry import Registry
from res_bridge.tokens import token_for
from res_protocol import Access
from tests.bridge.conftest import db

pytestmark = pytest.mark.django_db


class Books(ModelResource):
    model = Book
    rid = "library.book.{pk}"
    fields = ["id", "title", "loans", "shelves"]
    relations = {"loans": "library.book.{pk}.loans", "shelves": "library.book.{pk}.shelves"}


class Shelves(ModelResource):
    model = Shelf
    rid = "library.shelf.{pk}"
    fields = ["id", "name", "books"]
    relations = {"books": "library.shelf.{pk}.books"}


class Loans(ModelResource):
    model = Loan
    rid = "library.loan.{pk}"
    fields = ["id", "due"]


EVERY_SHAPE = Registry()
for resource in (Books, Shelves, Loans):
    EVERY_SHAPE.register(resource)


def decide(token: Any, rid: str) -> Access:
    """The access the policy for these shapes answers an access request with."""
    return AccessPolicy(EVERY_SHAPE).decide(Request("access", rid, token=token))


@pytest.fixture(autouse=True)
def every_shape() -> Registry:
    rule_cache.clear()
    return EVERY_SHAPE


def test_the_registry_offers_these_three_shapes(every_shape: Registry) -> None:
    kinds = {r.name: type(r.owner.model_field(r.name)).__name__ for r in every_shape.relations}
    assert kinds == {"books": "ManyToManyField", "shelves": "ManyToManyRel", "loans": "ManyToOneRel"}


# (relation, its owner, the owner's model permission, the item model's permission, the items' pattern)
SHAPES = [
    ("library.shelf.1.books", "library.shelf.1", "view_shelf", "view_book", "library.book.*"),
    ("library.book.1.shelves", "library.book.1", "view_book", "view_shelf", "library.shelf.*"),
    ("library.book.1.loans", "library.book.1", "view_book", "view_loan", "library.loan.*"),
]
COLUMNS = ("relation", "owner", "owner_perm", "item_perm", "items")


@pytest.fixture
def carol() -> User:
    return User.objects.create_user("carol")


def grant(user: User, *codenames: str) -> Any:
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return token_for(user)


@pytest.mark.parametrize(COLUMNS, SHAPES)
def test_the_item_models_permission_does_not_open_the_relation(
    carol: User, relation: str, owner: str, owner_perm: str, item_perm: str, items: str
) -> None:
    token = grant(carol, item_perm, item_perm.replace("view", "change"))
    assert decide(token, relation) == Access()
    assert decide(token, owner) == Access()


@pytest.mark.parametrize(COLUMNS, SHAPES)
def test_the_owners_and_the_items_permissions_open_the_relation_for_get_only(
    carol: User, relation: str, owner: str, owner_perm: str, item_perm: str, items: str
) -> None:
    token = grant(carol, owner_perm, owner_perm.replace("view", "change"))
    assert decide(token, owner) == Access(get=True, call="set")
    assert decide(token, relation) == Access()  # the items are not readable: the owner alone shows nothing
    token = grant(carol, item_perm)
    assert decide(token, relation) == Access(get=True)


@pytest.mark.parametrize(COLUMNS, SHAPES)
def test_a_rule_on_the_owner_opens_its_relation_to_whom_it_applies(
    carol: User, relation: str, owner: str, owner_perm: str, item_perm: str, items: str
) -> None:
    bob = User.objects.create_user("bob")
    AccessRule.objects.create(pattern=owner, applies_to="user", user=bob, can_get=True, call_methods="*")
    assert decide(token_for(bob), relation) == Access()  # not yet: the items are not readable
    AccessRule.objects.create(pattern=items, applies_to="everyone", can_get=True)
    assert decide(token_for(bob), relation) == Access(get=True)
    assert decide(token_for(carol), relation) == Access()
    assert decide(None, relation) == Access()
    other = owner.rsplit(".", 1)[0] + ".2"
    assert decide(token_for(bob), relation.replace(owner, other)) == Access()


@pytest.mark.parametrize(COLUMNS, SHAPES)
def test_a_rule_on_the_relation_itself_still_grants(
    carol: User, relation: str, owner: str, owner_perm: str, item_perm: str, items: str
) -> None:
    AccessRule.objects.create(pattern=relation, applies_to="authenticated", can_get=True, call_methods="x")
    assert decide(token_for(carol), relation) == Access(get=True, call="x")
    assert decide(token_for(carol), owner) == Access()


@pytest.mark.parametrize(COLUMNS, SHAPES)
def test_a_superuser_gets_every_relation(
    relation: str, owner: str, owner_perm: str, item_perm: str, items: str
) -> None:
    root = User.objects.create_superuser("root")
    assert decide(token_for(root), relation) == Access(get=True, call="*")


def test_a_public_owner_does_not_show_private_items(carol: User) -> None:
    """RES sends the items a collection references without asking their access: they must be readable."""
    AccessRule.objects.create(pattern="library.book.*", applies_to="everyone", can_get=True)
    assert decide(None, "library.book.1") == Access(get=True)
    assert decide(None, "library.book.1.loans") == Access()
    AccessRule.objects.create(pattern="library.loan.1", applies_to="everyone", can_get=True)
    assert decide(None, "library.book.1.loans") == Access()  # one loan is not every loan
    AccessRule.objects.create(pattern="library.>", applies_to="authenticated", can_get=True)
    assert decide(token_for(carol), "library.book.1.loans") == Access(get=True)
    assert decide(None, "library.book.1.loans") == Access()


@pytest.mark.django_db(transaction=True)
async def test_over_nats_a_book_permission_does_not_open_alices_shelf(service: Any, ask: Any) -> None:
    """The reported case, answered by the service: carol with only ``library.view_book``."""

    def setup() -> Any:
        alice = User.objects.create_user("alice")
        shelf = Shelf.objects.create(name="Alice's", owner=alice)
        carol = User.objects.create_user("carol")
        return shelf.pk, grant(carol, "view_book")

    shelf, token = await db(setup)()
    denied = {"error": {"code": "system.accessDenied", "message": "Access denied"}}
    for rid in (f"library.shelf.{shelf}.books", f"library.shelf.{shelf}"):
        assert await ask(f"access.{rid}", {"cid": "c", "token": token}) == denied
    assert await ask("access.library.book.1", {"cid": "c", "token": token}) == {"result": {"get": True}}
