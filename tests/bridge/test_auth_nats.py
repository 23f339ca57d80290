"""Auth and access over NATS against the running service, and revocation as a gateway sees it."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.test import Client

from res_bridge.models import AccessRule
from res_bridge.tokens import fingerprint
from tests.bridge.conftest import db

pytestmark = pytest.mark.django_db(transaction=True)

AUTH = "auth.django.auth"
CID = "c1"


@pytest.fixture(autouse=True)
def fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
async def bob(service: Any) -> User:
    user = await db(User.objects.create_user)("bob", password="demo")
    await db(AccessRule.objects.create)(pattern="library.shelves", applies_to="user", user=user)
    await service.flush()
    return user


def bob_token(bob: User, **credentials: str) -> dict[str, Any]:
    return {"user_id": bob.pk, "tid": f"user.{bob.pk}", **{k: fingerprint(v) for k, v in credentials.items()}}


async def test_login_publishes_the_token_before_the_reply(service, ask, record, nc, bob) -> None:
    tokens = await record(f"conn.{CID}.>")
    reply = await ask(
        f"{AUTH}.login", {"cid": CID, "token": None, "params": {"username": "bob", "password": "demo"}}
    )
    assert reply == {"result": {"user": {"id": bob.pk, "username": "bob", "is_staff": False}}}
    assert await tokens.settle(nc) == [
        (
            f"conn.{CID}.token",
            {"token": bob_token(bob, password=bob.get_session_auth_hash()), "tid": f"user.{bob.pk}"},
        )
    ]


async def test_failed_login_answers_access_denied_and_sends_no_token(service, ask, record, nc, bob) -> None:
    tokens = await record(f"conn.{CID}.>")
    reply = await ask(
        f"{AUTH}.login", {"cid": CID, "token": None, "params": {"username": "bob", "password": "x"}}
    )
    assert reply == {"error": {"code": "system.accessDenied", "message": "Invalid username or password"}}
    reply = await ask(f"{AUTH}.login", {"cid": CID, "token": None, "params": None})
    assert reply["error"]["code"] == "system.invalidParams"
    assert await tokens.settle(nc) == []


async def test_header_auth_with_a_session_cookie(service, ask, record, nc, bob) -> None:
    client = Client()
    await db(client.force_login)(bob)
    key = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    tokens = await record(f"conn.{CID}.>")
    payload = {"cid": CID, "token": None, "header": {"Cookie": [f"sessionid={key}"]}, "isHttp": True}
    assert (await ask(f"{AUTH}.session", payload))["result"]["user"]["username"] == "bob"
    assert await tokens.settle(nc) == [
        (f"conn.{CID}.token", {"token": bob_token(bob, session=key), "tid": f"user.{bob.pk}"})
    ]


async def test_access_follows_the_token(service, ask, bob) -> None:
    assert await ask("access.library.shelves", {"cid": CID, "token": bob_token(bob)}) == {
        "result": {"get": True}
    }
    denied = {"error": {"code": "system.accessDenied", "message": "Access denied"}}
    assert await ask("access.library.shelves", {"cid": CID, "token": None}) == denied


async def test_a_rule_change_resets_access_and_the_next_access_request_sees_it(
    service, ask, record, nc, bob
) -> None:
    system = await record("system.>")
    rule = await db(AccessRule.objects.get)(user=bob)
    rule.can_get = False
    rule.call_methods = "new"
    await db(rule.save)()
    assert await system.wait(1) == [("system.reset", {"access": ["library.shelves"]})]
    reply = await ask("access.library.shelves", {"cid": CID, "token": bob_token(bob)})
    assert reply == {"result": {"call": "new"}}


async def test_deactivating_a_user_resets_their_tokens_and_refresh_clears_them(
    service, ask, record, nc, bob
) -> None:
    system = await record("system.>")
    tokens = await record(f"conn.{CID}.>")
    token = bob_token(bob)
    # While bob is active, a refresh re-issues the same token (and so makes gateways re-check access).
    assert await ask(f"{AUTH}.refresh", {"cid": CID, "token": token}) == {"result": None}
    assert await tokens.wait(1) == [(f"conn.{CID}.token", {"token": token, "tid": f"user.{bob.pk}"})]
    tokens.clear()

    bob.is_active = False
    await db(bob.save)()
    assert await system.wait(1) == [
        ("system.tokenReset", {"tids": [f"user.{bob.pk}"], "subject": f"{AUTH}.refresh"})
    ]
    # What a gateway sends for each connection with that tid: no params, isHttp false.
    assert await ask(f"{AUTH}.refresh", {"cid": CID, "token": token, "header": {}}) == {"result": None}
    assert await tokens.wait(1) == [(f"conn.{CID}.token", {"token": None})]
    denied = await ask("access.library.shelves", {"cid": CID, "token": token})
    assert denied["error"]["code"] == "system.accessDenied"


async def test_logout_clears_the_token(service, ask, record, nc, bob) -> None:
    tokens = await record(f"conn.{CID}.>")
    assert await ask(f"{AUTH}.logout", {"cid": CID, "token": bob_token(bob)}) == {"result": None}
    assert await tokens.wait(1) == [(f"conn.{CID}.token", {"token": None})]


async def test_logging_out_through_django_clears_the_sessions_connections(
    service, ask, record, nc, bob
) -> None:
    client = Client()
    await db(client.force_login)(bob)
    key = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    header = {"Cookie": [f"sessionid={key}"]}
    login = await ask(f"{AUTH}.session", {"cid": CID, "token": None, "header": header})
    assert login["result"]["user"]["username"] == "bob"
    system = await record("system.>")
    tokens = await record(f"conn.{CID}.>")
    await db(client.logout)()
    assert await system.wait(1) == [
        ("system.tokenReset", {"tids": [f"user.{bob.pk}"], "subject": f"{AUTH}.refresh"})
    ]
    refresh = {"cid": CID, "token": bob_token(bob, session=key), "header": header}
    assert await ask(f"{AUTH}.refresh", refresh) == {"result": None}
    assert await tokens.wait(1) == [(f"conn.{CID}.token", {"token": None})]
