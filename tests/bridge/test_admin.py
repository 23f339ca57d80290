"""The AccessRule admin: list, search, filter, add and change with validation; a save publishes a reset."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse

from res_bridge.models import AccessRule

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def admin_client_(published: Callable) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("root"))
    return client


@pytest.fixture
def alice() -> User:
    return User.objects.create_user("alice")


def form(**values: Any) -> dict[str, Any]:
    data = {
        "pattern": "",
        "description": "",
        "applies_to": "everyone",
        "group": "",
        "user": "",
        "call_methods": "",
    }
    data |= {"can_get": "on"}
    data |= values
    return {k: v for k, v in data.items() if v is not None}


def test_changelist_lists_searches_and_filters_rules(admin_client_: Client, alice: User) -> None:
    AccessRule.objects.create(pattern="library.books", applies_to="everyone", call_methods="*")
    AccessRule.objects.create(pattern="library.shelf.>", applies_to="user", user=alice, description="Shelves")
    url = reverse("admin:res_bridge_accessrule_changelist")
    page = admin_client_.get(url).content.decode()
    assert "library.books" in page and "library.shelf.&gt;" in page and "user alice" in page
    found = admin_client_.get(url, {"q": "alice"}).content.decode()
    assert "library.shelf.&gt;" in found and "library.books" not in found
    filtered = admin_client_.get(url, {"applies_to__exact": "everyone"}).content.decode()
    assert "library.books" in filtered and "library.shelf.&gt;" not in filtered


def test_adding_a_rule_in_the_admin_saves_it_and_resets_access(
    admin_client_: Client, alice: User, published: Callable
) -> None:
    published()
    response = admin_client_.post(
        reverse("admin:res_bridge_accessrule_add"),
        form(pattern="library.shelf.*", applies_to="user", user=alice.pk, call_methods="set, delete"),
    )
    assert response.status_code == 302
    rule = AccessRule.objects.get()
    assert (rule.pattern, rule.user, rule.can_get, rule.call_methods) == (
        "library.shelf.*",
        alice,
        True,
        "set,delete",
    )
    assert published() == [("system.reset", {"access": ["library.shelf.*"]})]


def test_changing_a_rule_in_the_admin_resets_old_and_new_patterns(
    admin_client_: Client, published: Callable
) -> None:
    rule = AccessRule.objects.create(pattern="library.books", applies_to="everyone")
    published()
    response = admin_client_.post(
        reverse("admin:res_bridge_accessrule_change", args=[rule.pk]),
        form(pattern="library.>", applies_to="authenticated", can_get=None),
    )
    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.pattern, rule.applies_to, rule.can_get) == ("library.>", "authenticated", False)
    assert published() == [("system.reset", {"access": ["library.>", "library.books"]})]


def test_deleting_a_rule_in_the_admin_resets_access(admin_client_: Client, published: Callable) -> None:
    rule = AccessRule.objects.create(pattern="library.books", applies_to="everyone")
    published()
    response = admin_client_.post(
        reverse("admin:res_bridge_accessrule_delete", args=[rule.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not AccessRule.objects.exists()
    assert published() == [("system.reset", {"access": ["library.books"]})]


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"pattern": "library..books"}, "pattern", "is not a valid resource name pattern"),
        ({"pattern": "library.>.x"}, "pattern", "is not a valid resource name pattern"),
        ({"pattern": "lib*.books"}, "pattern", "is not a valid resource name pattern"),
        ({"pattern": ""}, "pattern", "This field is required"),
        ({"call_methods": "set new"}, "call_methods", "Invalid method names: set new"),
        ({"call_methods": "a.b,ok"}, "call_methods", "Invalid method names: a.b"),
        ({"applies_to": "group"}, "group", "Choose the group this rule applies to"),
        ({"applies_to": "user"}, "user", "Choose the user this rule applies to"),
        (
            {"applies_to": "everyone", "group": "GROUP"},
            "group",
            "A group is only set when the rule applies to a group",
        ),
        (
            {"applies_to": "staff", "user": "USER"},
            "user",
            "A user is only set when the rule applies to one user",
        ),
    ],
)
def test_invalid_rules_are_refused_with_a_message_on_the_field(
    admin_client_: Client, alice: User, published: Callable, values: dict, field: str, message: str
) -> None:
    group = Group.objects.create(name="editors")
    published()
    ids = {"GROUP": group.pk, "USER": alice.pk}
    data = form(**{"pattern": "library.books", **{k: ids.get(v, v) for k, v in values.items()}})
    response = admin_client_.post(reverse("admin:res_bridge_accessrule_add"), data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == [field]
    assert message in " ".join(errors[field])
    assert not AccessRule.objects.exists()
    assert published() == []


def test_user_and_group_are_chosen_by_autocomplete(admin_client_: Client, alice: User) -> None:
    Group.objects.create(name="editors")
    page = admin_client_.get(reverse("admin:res_bridge_accessrule_add")).content.decode()
    assert page.count("admin-autocomplete") >= 2
    for field, term, expected in (("user", "ali", "alice"), ("group", "edit", "editors")):
        found = admin_client_.get(
            reverse("admin:autocomplete"),
            {"app_label": "res_bridge", "model_name": "accessrule", "field_name": field, "term": term},
        ).json()
        assert [r["text"] for r in found["results"]] == [expected]


def test_library_admin_pages_show_the_demo_data(admin_client_: Client, settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("loaddemo", stdout=io.StringIO())
    for model, text in (
        ("book", "Coraline"),
        ("shelf", "Alice&#x27;s favourites"),
        ("loan", "Brave New World"),
    ):
        page = admin_client_.get(reverse(f"admin:library_{model}_changelist")).content.decode()
        assert text in page
    shelf = admin_client_.get(reverse("admin:library_shelf_changelist")).content.decode()
    assert "Bob&#x27;s reading list" in shelf


@pytest.mark.parametrize(
    ("applies_to", "with_group", "with_user"),
    [("group", False, False), ("user", False, False), ("everyone", True, False), ("staff", False, True)],
)
def test_the_database_refuses_a_subject_without_its_group_or_user(
    alice: User, applies_to: str, with_group: bool, with_user: bool
) -> None:
    group = Group.objects.create(name="editors") if with_group else None
    with pytest.raises(IntegrityError), transaction.atomic():
        AccessRule.objects.create(
            pattern="a.b", applies_to=applies_to, group=group, user=alice if with_user else None
        )
