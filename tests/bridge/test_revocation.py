"""Revocation events: what each change publishes on NATS, exactly, and only once it is committed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.db import transaction
from django.test import Client
from rest_framework.authtoken.models import Token as ApiToken

from res_bridge.models import AccessRule

pytestmark = pytest.mark.django_db(transaction=True)

REFRESH = "auth.django.auth.refresh"


def reset(*patterns: str) -> tuple[str, Any]:
    return ("system.reset", {"access": sorted(patterns)})


def token_reset(*users: User, subject: str = REFRESH) -> tuple[str, Any]:
    return ("system.tokenReset", {"tids": sorted(f"user.{u.pk}" for u in users), "subject": subject})


@pytest.fixture
def people(published: Callable) -> dict[str, Any]:
    editors = Group.objects.create(name="editors")
    alice = User.objects.create_user("alice")
    bob = User.objects.create_user("bob")
    carol = User.objects.create_user("carol")
    editors.user_set.add(alice, bob)
    published()
    return {"editors": editors, "alice": alice, "bob": bob, "carol": carol}


# AccessRule


def test_saving_a_rule_resets_access_on_its_pattern(published: Callable) -> None:
    rule = AccessRule.objects.create(pattern="library.shelf.>", applies_to="everyone")
    assert published() == [reset("library.shelf.>")]
    rule.can_get = False
    rule.save()
    assert published() == [reset("library.shelf.>")]


def test_changing_a_rules_pattern_resets_the_old_and_the_new(published: Callable) -> None:
    rule = AccessRule.objects.create(pattern="library.books", applies_to="everyone")
    published()
    rule.pattern = "library.book.*"
    rule.save()
    assert published() == [reset("library.book.*", "library.books")]


def test_deleting_a_rule_resets_access_on_its_pattern(published: Callable) -> None:
    rule = AccessRule.objects.create(pattern="library.books", applies_to="everyone")
    published()
    rule.delete()
    assert published() == [reset("library.books")]


def test_rule_changes_publish_only_after_commit(published: Callable) -> None:
    with transaction.atomic():
        AccessRule.objects.create(pattern="a.b", applies_to="everyone")
        assert published() == []
    assert published() == [reset("a.b")]


def test_rolled_back_changes_publish_nothing(people: dict, published: Callable) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        AccessRule.objects.create(pattern="a.b", applies_to="everyone")
        people["carol"].groups.add(people["editors"])
        people["alice"].delete()
        raise RuntimeError("roll back")
    assert published() == []


# Users, groups and permissions: (change, users whose tokens are reset)


def perm(codename: str = "view_accessrule") -> Permission:
    return Permission.objects.get(codename=codename)


def set_flag(name: str, value: bool) -> Callable[[dict], None]:
    def change(p: dict) -> None:
        setattr(p["alice"], name, value)
        p["alice"].save()

    return change


def set_password(p: dict) -> None:
    p["alice"].set_password("changed")
    p["alice"].save(update_fields=["password"])


TOKEN_RESET_CASES: list[tuple[str, Callable[[dict], Any], list[str]]] = [
    ("user joins group", lambda p: p["carol"].groups.add(p["editors"]), ["carol"]),
    ("user leaves group", lambda p: p["alice"].groups.remove(p["editors"]), ["alice"]),
    ("user leaves all groups", lambda p: p["alice"].groups.clear(), ["alice"]),
    ("group gains members", lambda p: p["editors"].user_set.add(p["carol"]), ["carol"]),
    ("group loses a member", lambda p: p["editors"].user_set.remove(p["bob"]), ["bob"]),
    ("group loses all members", lambda p: p["editors"].user_set.clear(), ["alice", "bob"]),
    ("user gains a permission", lambda p: p["carol"].user_permissions.add(perm()), ["carol"]),
    ("user loses all permissions", lambda p: p["carol"].user_permissions.clear(), ["carol"]),
    ("permission given to users", lambda p: perm().user_set.add(p["alice"], p["carol"]), ["alice", "carol"]),
    ("group gains a permission", lambda p: p["editors"].permissions.add(perm()), ["alice", "bob"]),
    ("group loses all permissions", lambda p: p["editors"].permissions.clear(), ["alice", "bob"]),
    ("permission given to groups", lambda p: perm().group_set.add(p["editors"]), ["alice", "bob"]),
    ("user deactivated", set_flag("is_active", False), ["alice"]),
    ("user made staff", set_flag("is_staff", True), ["alice"]),
    ("user made superuser", set_flag("is_superuser", True), ["alice"]),
    ("password changed", set_password, ["alice"]),
    ("user deleted", lambda p: p["alice"].delete(), ["alice"]),
    ("group deleted", lambda p: p["editors"].delete(), ["alice", "bob"]),
    ("API token deleted", lambda p: ApiToken.objects.create(user=p["bob"]).delete(), ["bob"]),
]


@pytest.mark.parametrize(
    ("change", "users"), [c[1:] for c in TOKEN_RESET_CASES], ids=[c[0] for c in TOKEN_RESET_CASES]
)
def test_changes_to_who_a_user_is_reset_their_tokens(
    people: dict, published: Callable, change: Callable, users: list[str]
) -> None:
    tids = sorted(f"user.{people[name].pk}" for name in users)
    change(people)
    assert published() == [("system.tokenReset", {"tids": tids, "subject": REFRESH})]


NO_RESET_CASES: list[tuple[str, Callable[[dict], Any]]] = [
    ("user saved unchanged", lambda p: p["alice"].save()),
    ("user renamed", lambda p: p["alice"].save(update_fields=["first_name"])),
    ("last login stamped", lambda p: p["alice"].save(update_fields=["last_login"])),
    (
        "group without members gains a permission",
        lambda p: Group.objects.create(name="x").permissions.add(perm()),
    ),
    ("user created", lambda p: User.objects.create_user("dave")),
    ("user joins a group again", lambda p: p["alice"].groups.add(p["editors"])),
    ("group gains no members", lambda p: p["editors"].user_set.add()),
]


@pytest.mark.parametrize("change", [c[1] for c in NO_RESET_CASES], ids=[c[0] for c in NO_RESET_CASES])
def test_changes_that_do_not_alter_access_publish_nothing(
    people: dict, published: Callable, change: Callable
) -> None:
    change(people)
    assert published() == []


def test_logging_out_through_django_resets_the_users_tokens_and_ends_the_session(
    people: dict, published: Callable
) -> None:
    client = Client()
    client.force_login(people["alice"])
    session = client.session
    published()
    client.logout()
    assert published() == [token_reset(people["alice"])]
    assert not session.exists(session.session_key)


def test_the_refresh_subject_follows_auth_rid(people: dict, published: Callable, settings: Any) -> None:
    settings.RES_BRIDGE = {**settings.RES_BRIDGE, "AUTH_RID": "accounts.auth"}
    people["carol"].groups.add(people["editors"])
    assert published() == [token_reset(people["carol"], subject="auth.accounts.auth.refresh")]
