"""Access decisions from AccessRule rows: every kind of subject, wildcards, unions, superusers, caching."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from res_bridge.access import RuleCache, decide, rule_cache
from res_bridge.models import AccessRule, RulesRevision
from res_bridge.tokens import token_for
from res_protocol import Access

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_rule_cache() -> None:
    rule_cache.clear()


Rule = AccessRule.AppliesTo


@pytest.fixture
def people(db: Any) -> dict[str, Any]:
    editors = Group.objects.create(name="editors")
    alice = User.objects.create_user("alice")
    alice.groups.add(editors)
    return {
        "anonymous": None,
        "alice": token_for(alice),
        "bob": token_for(User.objects.create_user("bob", is_staff=True)),
        "carol": token_for(User.objects.create_user("carol")),
        "root": token_for(User.objects.create_superuser("root")),
        "editors": editors,
        "alice_user": alice,
    }


def rule(
    people: dict[str, Any], pattern: str, applies_to: str, get: bool = True, call: str = ""
) -> AccessRule:
    extra: dict[str, Any] = {}
    if applies_to == Rule.GROUP:
        extra["group"] = people["editors"]
    if applies_to == Rule.USER:
        extra["user"] = people["alice_user"]
    return AccessRule.objects.create(
        pattern=pattern, applies_to=applies_to, can_get=get, call_methods=call, **extra
    )


# (who the rule applies to, who asks, expected get)
SUBJECT_CASES = [
    (Rule.EVERYONE, "anonymous", True),
    (Rule.EVERYONE, "carol", True),
    (Rule.AUTHENTICATED, "anonymous", False),
    (Rule.AUTHENTICATED, "carol", True),
    (Rule.STAFF, "carol", False),
    (Rule.STAFF, "bob", True),
    (Rule.STAFF, "anonymous", False),
    (Rule.GROUP, "alice", True),
    (Rule.GROUP, "bob", False),
    (Rule.GROUP, "anonymous", False),
    (Rule.USER, "alice", True),
    (Rule.USER, "carol", False),
    (Rule.USER, "anonymous", False),
]


@pytest.mark.parametrize(("applies_to", "who", "granted"), SUBJECT_CASES)
def test_rule_applies_to_its_subject_only(people: dict, applies_to: str, who: str, granted: bool) -> None:
    rule(people, "library.shelves", applies_to, call="set")
    expected = Access(get=True, call="set") if granted else Access()
    assert decide(people[who], "library.shelves") == expected


# (rule pattern, resource asked for, matches)
PATTERN_CASES = [
    ("library.books", "library.books", True),
    ("library.books", "library.book", False),
    ("library.books", "library.books.1", False),
    ("library.book.*", "library.book.1", True),
    ("library.book.*", "library.book", False),
    ("library.book.*", "library.book.1.title", False),
    ("library.*.1", "library.shelf.1", True),
    ("library.>", "library.shelf.1", True),
    ("library.>", "library.books", True),
    ("library.>", "library", False),
    ("*.books", "library.books", True),
    (">", "anything.at.all", True),
    ("library.book.*", "library.book.1?q=x", True),
    ("library.books", "library.books?limit=2", True),
]


@pytest.mark.parametrize(("pattern", "rid", "matches"), PATTERN_CASES)
def test_rule_patterns_match_like_nats(people: dict, pattern: str, rid: str, matches: bool) -> None:
    rule(people, pattern, Rule.EVERYONE, call="*")
    assert decide(None, rid) == (Access(get=True, call="*") if matches else Access())


def test_matching_rules_grant_their_union_with_methods_sorted(people: dict) -> None:
    rule(people, "library.shelf.*", Rule.EVERYONE, get=False, call="borrow")
    rule(people, "library.shelf.>", Rule.AUTHENTICATED, get=False, call="set,borrow")
    rule(people, "library.shelf.1", Rule.GROUP, get=True, call="new")
    rule(people, "library.shelf.2", Rule.USER, get=True, call="*")
    assert decide(None, "library.shelf.1") == Access(get=False, call="borrow")
    assert decide(people["carol"], "library.shelf.1") == Access(get=False, call="borrow,set")
    assert decide(people["alice"], "library.shelf.1") == Access(get=True, call="borrow,new,set")
    assert decide(people["alice"], "library.shelf.2") == Access(get=True, call="*")
    assert decide(people["carol"], "library.shelf.2") == Access(get=False, call="borrow,set")


def test_call_methods_are_trimmed_and_star_dominates(people: dict) -> None:
    rule(people, "a.b", Rule.EVERYONE, get=False, call=" set , new,,set ")
    assert decide(None, "a.b") == Access(get=False, call="new,set")
    rule(people, "a.>", Rule.EVERYONE, get=False, call="delete, *")
    assert decide(None, "a.b") == Access(get=False, call="*")


def test_superuser_may_do_everything_without_rules(people: dict) -> None:
    assert decide(people["root"], "whatever.resource") == Access(get=True, call="*")


@pytest.mark.parametrize(
    "token",
    [
        {"user_id": 999999, "tid": "user.999999"},
        {"user_id": 1, "tid": "user.2"},
        {"user_id": "x", "tid": "user.x"},
        {"tid": "user.1"},
        "a string",
        ["user_id", 1],
        True,
    ],
)
def test_unknown_or_malformed_tokens_are_anonymous(people: dict, token: Any) -> None:
    rule(people, "x.y", Rule.AUTHENTICATED)
    rule(people, "x.z", Rule.EVERYONE, call="ping")
    assert decide(token, "x.y") == Access()
    assert decide(token, "x.z") == Access(get=True, call="ping")


def test_inactive_users_are_anonymous(people: dict) -> None:
    rule(people, "x.y", Rule.AUTHENTICATED)
    User.objects.filter(username="carol").update(is_active=False)
    assert decide(people["carol"], "x.y") == Access()
    User.objects.filter(username="root").update(is_active=False)
    assert decide(people["root"], "x.y") == Access()


def test_rules_are_cached_until_the_revision_changes(people: dict) -> None:
    first = rule(people, "x.y", Rule.EVERYONE, call="a")
    assert decide(None, "x.y") == Access(get=True, call="a")
    with CaptureQueriesContext(connection) as unchanged:
        assert decide(None, "x.y") == Access(get=True, call="a")
    assert len(unchanged.captured_queries) == 1  # the revision only

    first.call_methods = "c"
    first.save()
    assert decide(None, "x.y") == Access(get=True, call="c")
    second = rule(people, "x.*", Rule.EVERYONE, call="b")
    assert decide(None, "x.y") == Access(get=True, call="b,c")
    AccessRule.objects.filter(pk=second.pk).delete()
    assert decide(None, "x.y") == Access(get=True, call="c")
    first.delete()
    assert decide(None, "x.y") == Access()


def test_writes_without_signals_are_seen_once_they_bump_the_revision(people: dict) -> None:
    assert decide(None, "x.y") == Access()
    AccessRule.objects.bulk_create([AccessRule(pattern="x.y", applies_to=Rule.EVERYONE, call_methods="b")])
    RulesRevision.bump()
    assert decide(None, "x.y") == Access(get=True, call="b")
    AccessRule.objects.update(call_methods="d")
    RulesRevision.bump()
    assert decide(None, "x.y") == Access(get=True, call="d")


def test_each_process_cache_follows_the_revision_in_the_database(people: dict) -> None:
    """Another process's cache is told nothing but what the database says; two caches here show it."""
    other = RuleCache()
    assert other.rules() == rule_cache.rules() == ()
    rule(people, "x.y", Rule.EVERYONE)
    assert [r.pattern.pattern for r in other.rules()] == ["x.y"]
    AccessRule.objects.all().delete()
    assert other.rules() == ()


def test_cache_clear_forces_a_reload(people: dict) -> None:
    rule(people, "x.y", Rule.EVERYONE)
    assert decide(None, "x.y").get
    rule_cache.clear()
    with CaptureQueriesContext(connection) as queries:
        assert decide(None, "x.y").get
    assert len(queries.captured_queries) == 2  # the revision and the rules


# Django model permissions on the model behind a resource: (permissions, resource, access)
PERMISSION_CASES = [
    (["view_shelf"], "library.shelf.1", Access(get=True)),
    (["view_shelf"], "library.shelves", Access(get=True)),
    (["change_shelf"], "library.shelf.1", Access(call="set")),
    (["add_shelf"], "library.shelves", Access(call="new")),
    (["delete_shelf"], "library.shelf.1", Access(call="delete")),
    (
        ["view_shelf", "change_shelf", "add_shelf", "delete_shelf"],
        "library.shelf.7",
        Access(True, "delete,new,set"),
    ),
    (["view_book"], "library.shelf.1.books", Access()),  # a relation: as visible as its owner
    (["view_shelf", "change_shelf"], "library.shelf.1.books", Access()),  # and its items
    (["view_shelf", "view_book"], "library.shelf.1.books", Access(get=True)),
    (["view_book"], "library.shelf.1", Access()),
    (["view_shelf"], "library.unknown", Access()),
]


def grant(user: User, codenames: list[str]) -> None:
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))


@pytest.mark.parametrize(("codenames", "rid", "expected"), PERMISSION_CASES)
def test_model_permissions_grant_access_to_the_models_resources(
    people: dict, codenames: list[str], rid: str, expected: Access
) -> None:
    grant(User.objects.get(username="carol"), codenames)
    assert decide(people["carol"], rid) == expected
    assert decide(None, rid) == Access()


def test_group_permissions_count_and_add_to_rules(people: dict) -> None:
    people["editors"].permissions.add(Permission.objects.get(codename="change_shelf"))
    rule(people, "library.shelf.*", Rule.AUTHENTICATED, get=True, call="addBook")
    assert decide(people["alice"], "library.shelf.1") == Access(get=True, call="addBook,set")
    assert decide(people["carol"], "library.shelf.1") == Access(get=True, call="addBook")


def test_a_revoked_permission_is_seen_by_the_next_decision(people: dict) -> None:
    carol = User.objects.get(username="carol")
    grant(carol, ["view_shelf"])
    assert decide(people["carol"], "library.shelf.1").get
    carol.user_permissions.clear()
    assert not decide(people["carol"], "library.shelf.1").get
