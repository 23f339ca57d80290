"""``manage.py resaccess``: the decision for a user and a resource on the demo data, and what made it."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.core.management import CommandError, call_command

from res_bridge.access import decide, explain, rule_cache, user_named
from res_bridge.models import AccessRule
from res_bridge.tokens import token_for
from tests.bridge.test_access_demo import DEMO_ACCESS, loaddemo

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def demo(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    rule_cache.clear()
    loaddemo()


def resaccess(*args: str) -> str:
    out = io.StringIO()
    call_command("resaccess", *args, stdout=out, no_color=True)
    return out.getvalue()


def decision(*args: str) -> dict[str, Any]:
    return json.loads(resaccess(*args, "--json"))


def rule_id(pattern: str, username: str) -> int:
    return AccessRule.objects.get(pattern=pattern, user__username=username).pk


def test_json_names_the_deciding_rule() -> None:
    found = decision("alice", "library.shelf.2")
    assert found["get"] is True and found["call"] == "*"
    assert [(r["id"], r["pattern"], r["subject"]) for r in found["rules"]] == [
        (rule_id("library.shelf.>", "alice"), "library.shelf.>", "user alice")
    ]
    assert [r["subject"] for r in found["other_rules"]] == ["user bob"]
    assert (
        found["reason"]
        == f"rule #{rule_id('library.shelf.>', 'alice')} (library.shelf.> → user alice) grants get, call *"
    )


def test_a_read_only_rule_gives_get_and_no_methods() -> None:
    found = decision("bob", "library.shelf.1", "--method", "set")
    assert (found["get"], found["call"]) == (True, [])
    assert found["method"] == {"name": "set", "allowed": False}
    assert [r["id"] for r in found["rules"]] == [rule_id("library.shelf.>", "bob")]


def test_anonymous_is_a_dash() -> None:
    found = decision("-", "library.book.2", "--method", "set")
    assert (found["user"], found["get"], found["call"], found["method"]["allowed"]) == (
        None,
        True,
        "*",
        True,
    )
    assert [r["pattern"] for r in found["rules"]] == ["library.book.*"]


def test_denied_says_so_and_lists_the_rules_for_others() -> None:
    found = decision("carol", "library.shelf.1")
    assert (found["get"], found["call"], found["rules"]) == (False, [], [])
    assert found["reason"].startswith("denied: no access rule or model permission grants anything")
    assert sorted(r["subject"] for r in found["other_rules"]) == ["user alice", "user bob"]


def test_a_superuser_is_the_reason() -> None:
    found = decision("admin", "library.anything")
    assert (found["get"], found["call"], found["superuser"]) == (True, "*", True)
    assert found["reason"].startswith("superuser")


def test_a_relation_is_decided_by_its_owner() -> None:
    found = decision("bob", "library.shelf.1.books")
    assert found["get"] is True
    assert found["owner"]["rid"] == "library.shelf.1" and found["owner"]["get"] is True
    assert "its owner library.shelf.1 may be read" in found["reason"]


def test_model_permissions_are_named() -> None:
    User.objects.get(username="carol").user_permissions.add(
        *Permission.objects.filter(codename__in=["view_shelf", "change_shelf"])
    )
    found = decision("carol", "library.shelf.1")
    assert (found["get"], found["call"]) == (True, ["set"])
    assert found["permissions"] == ["library.view_shelf", "library.change_shelf"]
    assert "permission library.change_shelf grants call set" in found["reason"]


def test_text_output_tells_the_decision_and_why() -> None:
    text = resaccess("bob", "library.shelf.1", "--method", "addBook")
    assert text.splitlines()[:4] == [
        "bob → library.shelf.1",
        "  get:  allowed",
        "  call: no method",
        "  call addBook: denied",
    ]
    assert f"rule #{rule_id('library.shelf.>', 'bob')} (library.shelf.> → user bob) grants get" in text
    assert f"#{rule_id('library.shelf.>', 'alice')} library.shelf.> → user alice: get, call *" in text


def test_an_unserved_name_is_pointed_out() -> None:
    assert "no registered resource is served as library.nothing" in resaccess("-", "library.nothing")


def test_an_inactive_user_is_decided_as_anonymous() -> None:
    User.objects.filter(username="alice").update(is_active=False)
    assert "(inactive: decided as anonymous)" in resaccess("alice", "library.shelf.1")
    assert decision("alice", "library.shelf.1")["get"] is False


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("nobody", "library.books"), "no user named 'nobody' (use - for an anonymous connection)"),
        (("bob", "library..books"), "'library..books' is not a valid resource ID"),
        (("bob", "library.b ook"), "'library.b ook' is not a valid resource ID"),
        (("bob", ""), "'' is not a valid resource ID"),
        (("bob", "library.books", "--method", "bad method"), "'bad method' is not a valid method name"),
        (("bob", "library.books", "--method", "a.b"), "'a.b' is not a valid method name"),
    ],
)
def test_bad_input_is_a_command_error(args: tuple[str, ...], message: str) -> None:
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        resaccess(*args)


@pytest.mark.parametrize(("who", "rid", "expected"), DEMO_ACCESS)
def test_the_explanation_is_the_services_decision(who: str, rid: str, expected: Any) -> None:
    user = user_named(who or "-")
    token = token_for(user) if user.is_authenticated else None
    assert explain(user, rid).access == decide(token, rid) == expected
    found = decision(who or "-", rid)
    assert (found["get"], found["call"]) == (
        expected.get,
        "*" if expected.call == "*" else [m for m in expected.call.split(",") if m],
    )
