"""The operator pages of the admin: the access simulator, the users a rule lets in, the live gateways page."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.test import Client
from websockets.sync.client import connect

from library.models import Loan
from res_bridge.access import RuleCache, rule_cache, users_let_in
from res_bridge.models import AccessRule
from res_protocol import Access
from tests.bridge.test_access_demo import loaddemo
from tests.harness import run_gateway
from tests.support import NatsServer

pytestmark = pytest.mark.django_db

SIMULATOR = "/admin/res_bridge/accesssimulator/"
LIVE = "/admin/res_bridge/livegateways/"
LIVE_DATA = "/admin/res_bridge/livegateways/data/"


@pytest.fixture(autouse=True)
def demo(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    rule_cache.clear()
    loaddemo()


@pytest.fixture
def admin_client_() -> Client:
    client = Client()
    client.force_login(User.objects.get(username="admin"))
    return client


def staff(username: str, *codenames: str) -> Client:
    user = User.objects.create_user(username, is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client = Client()
    client.force_login(user)
    return client


def rule_id(pattern: str, username: str) -> int:
    return AccessRule.objects.get(pattern=pattern, user__username=username).pk


def test_the_simulator_shows_the_decision_and_the_rules_behind_it(admin_client_: Client) -> None:
    response = admin_client_.get(SIMULATOR, {"user": "bob", "rid": "library.shelf.1.books", "method": "set"})
    assert response.status_code == 200
    decision = response.context["decision"]
    assert (decision.access.get, decision.access.call, response.context["method_allowed"]) == (
        True,
        "",
        False,
    )
    html = response.content.decode()
    bob, alice = rule_id("library.shelf.>", "bob"), rule_id("library.shelf.>", "alice")
    assert f"rule #{bob} (library.shelf.&gt; → user bob) grants get" in html
    assert "its owner library.shelf.1 may be read" in html
    assert f'<a href="/admin/res_bridge/accessrule/{alice}/change/">{alice}</a>' in html
    assert [t["rid"] for t in response.context["rule_tables"]] == [
        "library.shelf.1.books",
        "library.shelf.1",
        "library.book.*",
    ]


def test_the_simulator_shows_what_has_access_granted(admin_client_: Client) -> None:
    loan = f"library.loan.{Loan.objects.get().pk}"
    response = admin_client_.get(SIMULATOR, {"user": "alice", "rid": loan, "method": "delete"})
    assert response.context["decision"].access == Access(get=True, call="delete")
    assert response.context["method_allowed"] is True
    assert (
        "<li>LoanResource.has_access grants get, call delete for this row</li>" in response.content.decode()
    )
    response = admin_client_.get(SIMULATOR, {"user": "bob", "rid": loan})
    assert response.context["decision"].access == Access()
    assert "<li>LoanResource.has_access grants nothing for this row</li>" in response.content.decode()


def test_the_simulator_speaks_for_anonymous_connections(admin_client_: Client) -> None:
    response = admin_client_.get(SIMULATOR, {"user": "-", "rid": "library.shelves"})
    assert "An anonymous connection → library.shelves" in response.content.decode()
    assert response.context["decision"].access.get is False


def test_the_simulator_says_an_inactive_user_is_decided_as_anonymous(admin_client_: Client) -> None:
    User.objects.filter(username="alice").update(is_active=False)
    response = admin_client_.get(SIMULATOR, {"user": "alice", "rid": "library.shelf.1"})
    assert "<h2>alice (inactive: decided as anonymous) → library.shelf.1</h2>" in response.content.decode()
    assert response.context["decision"].access.get is False


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"user": "nobody", "rid": "library.books"}, "user", "no user named 'nobody'"),
        ({"user": "bob", "rid": "library..books"}, "rid", "'library..books' is not a valid resource ID"),
        (
            {"user": "bob", "rid": "library.books", "method": "bad m"},
            "method",
            "'bad m' is not a valid method",
        ),
        ({"user": "bob", "rid": ""}, "rid", "This field is required."),
    ],
)
def test_bad_input_is_a_form_error(admin_client_: Client, query: dict, field: str, message: str) -> None:
    response = admin_client_.get(SIMULATOR, query)
    assert response.status_code == 200 and response.context["decision"] is None
    assert message in " ".join(response.context["form"].errors[field])


def test_the_empty_simulator_takes_the_user_from_the_link(admin_client_: Client) -> None:
    response = admin_client_.get(SIMULATOR, {"user": "carol"})
    assert response.context["decision"] is None and not response.context["form"].errors
    assert 'value="carol"' in response.content.decode()


def test_the_simulator_needs_permission_to_view_the_rules() -> None:
    assert staff("plain").get(SIMULATOR, {"user": "bob", "rid": "library.books"}).status_code == 403
    assert (
        staff("viewer", "view_accessrule").get(SIMULATOR, {"user": "bob", "rid": "library.books"}).status_code
        == 200
    )
    assert Client().get(SIMULATOR).status_code == 302  # to the login page


def test_a_rules_page_lists_the_users_it_lets_in(admin_client_: Client) -> None:
    alice_rule = rule_id("library.shelf.>", "alice")
    html = admin_client_.get(f"/admin/res_bridge/accessrule/{alice_rule}/change/").content.decode()
    assert f'1 active user: <a href="{SIMULATOR}?user=alice">alice</a>' in html
    everyone = AccessRule.objects.get(pattern="library.books").pk
    html = admin_client_.get(f"/admin/res_bridge/accessrule/{everyone}/change/").content.decode()
    assert "Anonymous connections and 4 active users: " in html
    assert f"{SIMULATOR}?user=carol&amp;rid=library.books" in html


def test_the_admin_home_the_app_page_and_the_rules_link_to_the_tools(admin_client_: Client) -> None:
    for page in ("/admin/", "/admin/res_bridge/", "/admin/res_bridge/accessrule/"):
        html = admin_client_.get(page).content.decode()
        assert f'href="{SIMULATOR}"' in html and f'href="{LIVE}"' in html, page
    listed = {
        model["object_name"]: model
        for app in admin_client_.get("/admin/").context["app_list"]
        if app["app_label"] == "res_bridge"
        for model in app["models"]
    }
    assert (listed["AccessSimulator"]["name"], listed["LiveGateways"]["name"]) == (
        "Access simulator",
        "Live gateways",
    )
    assert not listed["AccessSimulator"]["add_url"] and not listed["LiveGateways"]["add_url"]


def test_the_tools_are_listed_for_those_who_may_view_the_rules_only() -> None:
    for client, shown in ((staff("plain"), False), (staff("viewer", "view_accessrule"), True)):
        html = client.get("/admin/").content.decode()
        assert (f'href="{SIMULATOR}"' in html, f'href="{LIVE}"' in html) == (shown, shown)
        assert client.get(LIVE).status_code == client.get(LIVE_DATA).status_code == (200 if shown else 403)


# (applies to, group, user) for every kind of rule
RULE_KINDS = [("everyone", None, None), ("authenticated", None, None), ("staff", None, None)]
RULE_KINDS += [("group", "readers", None), ("user", None, "bob")]


@pytest.mark.parametrize(("applies_to", "group", "user"), RULE_KINDS)
def test_the_users_listed_are_those_the_decision_lets_in(applies_to: str, group: str, user: str) -> None:
    readers = Group.objects.create(name="readers")
    readers.user_set.add(*User.objects.filter(username__in=["alice", "carol"]))
    User.objects.create_user("staffer", is_staff=True)
    User.objects.create_user("gone", is_staff=True, is_active=False).groups.add(readers)
    rule = AccessRule.objects.create(
        pattern="x.y",
        applies_to=applies_to,
        group=readers if group else None,
        user=User.objects.get(username=user) if user else None,
    )
    compiled = next(r for r in RuleCache._compile([rule]))
    listed = set(users_let_in(rule).values_list("username", flat=True))
    for person in User.objects.filter(is_active=True):
        groups = frozenset(person.groups.values_list("pk", flat=True))
        assert (person.username in listed) == compiled.applies(person, groups), person.username
    assert "gone" not in listed


def test_the_live_page_is_for_staff_who_may_view_the_rules(admin_client_: Client) -> None:
    response = admin_client_.get(LIVE)
    assert response.status_code == 200
    assert f'data-url="{LIVE_DATA}"' in response.content.decode()
    assert Client().get(LIVE).status_code == 302
    assert Client().get(LIVE_DATA).status_code == 302
    user = User.objects.create_user("plain")
    client = Client()
    client.force_login(user)
    assert client.get(LIVE_DATA).status_code == 302


@pytest.fixture
def own_nats(settings: Any) -> Iterator[NatsServer]:
    server = NatsServer()
    settings.RES_BRIDGE = {"NATS_URL": server.url}
    yield server
    server.stop()


@pytest.mark.slow
def test_the_live_data_is_every_gateways_answer(admin_client_: Client, own_nats: NatsServer) -> None:
    assert admin_client_.get(LIVE_DATA).json() == {
        "gateways": [],
        "totals": {"gateways": 0, "connections": 0, "subscriptions": 0, "slow_consumers": 0, "resources": {}},
    }
    gateway = run_gateway(own_nats.url)
    try:
        with connect(gateway.ws_url) as one, connect(gateway.ws_url) as two:
            for ws in (one, two):
                ws.send(json.dumps({"id": 1, "method": "version", "params": {"protocol": "1.2.3"}}))
                ws.recv(5)
            data = admin_client_.get(LIVE_DATA).json()
    finally:
        gateway.stop()
    assert [g["connections"] for g in data["gateways"]] == [2]
    assert data["totals"]["connections"] == 2


def test_the_live_data_says_when_nats_is_unreachable(admin_client_: Client, settings: Any) -> None:
    settings.RES_BRIDGE = {"NATS_URL": "nats://127.0.0.1:1"}
    response = admin_client_.get(LIVE_DATA)
    assert response.status_code == 503
    assert response.json()["error"].startswith("cannot reach NATS at nats://127.0.0.1:1")
