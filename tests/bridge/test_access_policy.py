"""The pluggable access policy: ``RES_BRIDGE["ACCESS_POLICY"]``, made with the registry the service serves,
and ``ModelResource.has_access`` (the demo's loans: their borrower's alone), answered over NATS and explained
by ``manage.py resaccess``."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from library.models import Book, Loan
from res_bridge import ModelResource, Request
from res_bridge.access import AccessPolicy, rule_cache
from res_bridge.checks import check_settings
from res_bridge.models import AccessRule
from res_bridge.registry import Registry
from res_bridge.testing import serve
from res_bridge.tokens import token_for
from res_protocol import Access, ResError, errors
from tests.bridge.conftest import db
from tests.bridge.test_access_demo import loaddemo
from tests.bridge.testapp.models import Product

DENIED = {"error": {"code": "system.accessDenied", "message": "Access denied"}}


@pytest.fixture
def demo(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    rule_cache.clear()


def tokens(*names: str) -> list[Any]:
    return [token_for(User.objects.get(username=name)) for name in names]


@pytest.mark.django_db(transaction=True)
async def test_over_nats_the_borrower_reads_and_returns_the_loan_borrow_answers_with(
    demo: None, service: Any, ask: Any
) -> None:
    await db(loaddemo)()
    bob, carol, alice = await db(tokens)("bob", "carol", "alice")
    borrowed = await ask("call.library.book.1.borrow", {"cid": "c", "token": bob})
    loan = borrowed["resource"]["rid"]
    assert await ask(f"access.{loan}", {"cid": "c", "token": bob}) == {
        "result": {"get": True, "call": "delete"}
    }
    for token in (carol, alice, None):
        assert await ask(f"access.{loan}", {"cid": "c", "token": token}) == DENIED
    alices = f"library.loan.{await db(lambda: Loan.objects.get(borrower__username='alice').pk)()}"
    assert await ask(f"access.{alices}", {"cid": "c", "token": alice}) == {
        "result": {"get": True, "call": "delete"}
    }
    assert await ask(f"access.{alices}", {"cid": "c", "token": bob}) == DENIED
    for owner in ("library.book.1.loans", "library.book.2.loans"):  # every item is not readable by anybody
        for token in (bob, alice, carol, None):
            assert await ask(f"access.{owner}", {"cid": "c", "token": token}) == DENIED
    assert await ask("access.library.loan.999999", {"cid": "c", "token": bob}) == DENIED  # no row: nothing
    assert await ask(f"call.{loan}.delete", {"cid": "c", "token": bob}) == {"result": None}  # returned
    assert not await db(Loan.objects.filter(pk=int(loan.rsplit(".", 1)[1])).exists)()
    assert await ask(f"access.{loan}", {"cid": "c", "token": bob}) == DENIED  # gone: nothing to grant


def resaccess(*args: str) -> str:
    out = io.StringIO()
    call_command("resaccess", *args, stdout=out, no_color=True)
    return out.getvalue()


@pytest.mark.django_db
def test_resaccess_names_has_access_and_what_it_granted(demo: None) -> None:
    loaddemo()
    loan = f"library.loan.{Loan.objects.get().pk}"
    text = resaccess("alice", loan, "--method", "delete")
    assert text.splitlines()[:4] == [
        f"alice → {loan}",
        "  get:  allowed",
        "  call: delete",
        "  call delete: allowed",
    ]
    assert "  LoanResource.has_access grants get, call delete for this row" in text.splitlines()
    denied = resaccess("bob", loan)
    assert "  get:  denied" in denied.splitlines()
    assert "  LoanResource.has_access grants nothing for this row" in denied.splitlines()
    found = json.loads(resaccess("alice", loan, "--json"))
    assert found["has_access"] == {"hook": "LoanResource.has_access", "get": True, "call": ["delete"]}
    assert json.loads(resaccess("alice", "library.book.1", "--json"))["has_access"] is None  # not defined


@pytest.mark.django_db
def test_has_access_adds_to_the_rules_and_sees_the_request(demo: None) -> None:
    loaddemo()
    loan = Loan.objects.get()
    seen: list[tuple[str, str, Any]] = []

    class Loans(ModelResource):
        model = Loan
        rid = "library.loan.{pk}"
        fields = ("id", "due")

        def has_access(self, request: Request, obj: Loan) -> Access | None:
            seen.append((request.kind, request.rid, obj.pk))
            return Access(call="return")

    class Books(ModelResource):
        model = Book
        rid = "library.book.{pk}"
        fields = ("id",)

    registry = Registry()
    registry.register(Loans)
    registry.register(Books)
    policy = AccessPolicy(registry)
    bob = User.objects.get(username="bob")
    request = Request("access", f"library.loan.{loan.pk}", query="a=1", token=token_for(bob))
    assert policy.decide(request) == Access(call="return")
    assert seen == [("access", f"library.loan.{loan.pk}?a=1", loan.pk)]
    AccessRule.objects.create(
        pattern="library.loan.*", applies_to="user", user=bob, can_get=False, call_methods="extend"
    )
    assert policy.explain(bob, f"library.loan.{loan.pk}").access == Access(call="extend,return")


class ReadWhatIsServed:
    """A policy of one's own: get on every resource its registry serves, nothing else."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def decide(self, request: Request) -> Access:
        return Access(get=self.registry.resolve(request.resource_name) is not None)


class Things(ModelResource):
    model = Product
    rid = "things.thing.{pk}"
    fields = ("id", "name")


@pytest.mark.django_db(transaction=True)
async def test_the_access_policy_setting_is_made_with_the_served_registry(
    settings: Any, nats_url: str
) -> None:
    settings.RES_BRIDGE = {**settings.RES_BRIDGE, "ACCESS_POLICY": f"{__name__}.ReadWhatIsServed"}
    registry = Registry()
    registry.register(Things)
    async with serve(nats_url, registry) as client:
        assert await client.access("things.thing.1") == {"get": True}
        with pytest.raises(ResError) as raised:
            await client.access("things.other.1")
        assert raised.value.code == errors.CODE_ACCESS_DENIED


@pytest.mark.django_db(transaction=True)
async def test_a_bad_access_policy_is_an_internal_error_not_a_hang(settings: Any, nats_url: str) -> None:
    settings.RES_BRIDGE = {**settings.RES_BRIDGE, "ACCESS_POLICY": "nowhere.Policy"}
    registry = Registry()
    registry.register(Things)
    async with serve(nats_url, registry) as client:
        with pytest.raises(ResError) as raised:
            await client.access("things.thing.1")
        assert raised.value.code == errors.CODE_INTERNAL_ERROR


@pytest.mark.parametrize(
    ("path", "message"),
    [
        (
            "nowhere.Policy",
            "RES_BRIDGE['ACCESS_POLICY'] = 'nowhere.Policy' cannot be imported: No module named 'nowhere'.",
        ),
        (
            "res_bridge.access.Nothing",
            "RES_BRIDGE['ACCESS_POLICY'] = 'res_bridge.access.Nothing' cannot be imported: Module "
            '"res_bridge.access" does not define a "Nothing" attribute/class.',
        ),
        (
            "res_bridge.access.Decision",
            "RES_BRIDGE['ACCESS_POLICY'] = 'res_bridge.access.Decision' has no decide method.",
        ),
    ],
)
def test_a_bad_access_policy_is_a_check_error_with_a_hint(settings: Any, path: str, message: str) -> None:
    settings.RES_BRIDGE = {**settings.RES_BRIDGE, "ACCESS_POLICY": path}
    found = check_settings()
    assert [(m.id, m.msg) for m in found] == [("res_bridge.E008", message)]
    assert "res_bridge.access.AccessPolicy" in found[0].hint


def test_a_good_access_policy_passes_the_checks(settings: Any) -> None:
    settings.RES_BRIDGE = {**settings.RES_BRIDGE, "ACCESS_POLICY": f"{__name__}.ReadWhatIsServed"}
    assert check_settings() == []
    settings.RES_BRIDGE = {**settings.RES_BRIDGE, "ACCESS_POLICY": "res_bridge.access.AccessPolicy"}
    assert check_settings() == []
