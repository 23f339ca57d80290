"""The access revision model, ``django.auth.access``: public, changed after every access change commits."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.db import transaction

from res_bridge import publisher as publisher_module
from res_bridge.models import AccessRule, RulesRevision
from tests.bridge.conftest import db
from tests.bridge.conftest_access import Recorder

pytestmark = pytest.mark.django_db(transaction=True)

RID = "django.auth.access"
TOKENS = [None, {"user_id": 1, "tid": "user.1"}, {"user_id": 999, "tid": "user.999"}]


def change() -> tuple[str, Any]:
    """The change event announcing the revision now stored."""
    return (f"event.{RID}.change", {"values": {"revision": RulesRevision.current()}})


@pytest.fixture(scope="module")
def everything(nats_url: str) -> Iterator[Recorder]:
    recorder = Recorder(nats_url, ">")
    yield recorder
    recorder.close()


@pytest.fixture
def published(
    test_publisher: Any, everything: Recorder, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable]:
    """``published()``: the access events and resets published since the last call."""
    monkeypatch.setattr(publisher_module, "publisher", test_publisher)
    relay = everything.relay()

    def take() -> list[tuple[str, Any]]:
        kept = ("system.", f"event.{RID}.")
        return [m for m in everything.take(test_publisher, relay) if m[0].startswith(kept)]

    take()  # drop what earlier tests left
    yield take
    everything.stop(relay)


async def test_get_returns_the_current_revision(service, ask) -> None:
    await db(RulesRevision.bump)()
    revision = await db(RulesRevision.current)()
    assert revision
    assert await ask(f"get.{RID}") == {"result": {"model": {"revision": revision}}}


@pytest.mark.parametrize("token", TOKENS)
async def test_everyone_may_get_it_and_nobody_may_call(service, ask, token: Any) -> None:
    assert await ask(f"access.{RID}", {"token": token}) == {"result": {"get": True}}


async def test_before_any_change_the_revision_is_null(service, ask) -> None:
    assert await db(RulesRevision.current)() is None
    assert await ask(f"get.{RID}") == {"result": {"model": {"revision": None}}}


def test_saving_a_rule_announces_a_new_revision_after_the_reset(published: Callable) -> None:
    before = RulesRevision.current()
    rule = AccessRule.objects.create(pattern="library.shelves", applies_to="everyone")
    assert published() == [("system.reset", {"access": ["library.shelves"]}), change()]
    assert RulesRevision.current() != before
    rule.delete()
    assert published() == [("system.reset", {"access": ["library.shelves"]}), change()]


def test_the_revision_is_announced_only_once_committed(published: Callable) -> None:
    with transaction.atomic():
        AccessRule.objects.create(pattern="library.shelves", applies_to="everyone")
        assert published() == []
    assert published() == [("system.reset", {"access": ["library.shelves"]}), change()]


def test_a_rolled_back_rule_change_announces_nothing(published: Callable) -> None:
    before = RulesRevision.current()
    with pytest.raises(RuntimeError), transaction.atomic():
        AccessRule.objects.create(pattern="library.shelves", applies_to="everyone")
        raise RuntimeError("roll back")
    assert published() == []
    assert RulesRevision.current() == before


def test_a_users_groups_changing_announces_a_new_revision_after_the_token_reset(published: Callable) -> None:
    user = User.objects.create_user("dave")
    group = Group.objects.create(name="readers")
    published()
    user.groups.add(group)
    assert published() == [
        ("system.tokenReset", {"tids": [f"user.{user.pk}"], "subject": "auth.django.auth.refresh"}),
        change(),
    ]
