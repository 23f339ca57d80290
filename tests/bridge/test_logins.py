"""Login attempts over NATS: password checks take turns without holding up other requests, and failed
logins are limited per username and per connection."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from django.contrib.auth.models import User

from res_bridge.tokens import token_for
from res_protocol import dumps
from tests.bridge.conftest import db

pytestmark = pytest.mark.django_db(transaction=True)

AUTH = "auth.django.auth"
CHECK_SECONDS = 0.3


class SlowHasher(MD5PasswordHasher):
    """A password check that takes as long as a real one, off the GIL like a real one; counts overlap."""

    algorithm = "slow_md5"
    lock = threading.Lock()
    running = 0
    most = 0

    def verify(self, password: str, encoded: str) -> bool:
        cls = type(self)
        with cls.lock:
            cls.running += 1
            cls.most = max(cls.most, cls.running)
        time.sleep(CHECK_SECONDS)
        with cls.lock:
            cls.running -= 1
        return super().verify(password, encoded)


@pytest.fixture(autouse=True)
def slow_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["tests.bridge.test_logins.SlowHasher"]
    SlowHasher.running = SlowHasher.most = 0


@pytest.fixture
async def bob(service: Any) -> User:
    return await db(User.objects.create_user)("bob", password="demo")


LOGIN = f"{AUTH}.login"


def attempt(cid: str, username: str = "bob", password: str = "wrong") -> bytes:
    return dumps({"cid": cid, "token": None, "params": {"username": username, "password": password}})


async def test_refresh_never_waits_behind_password_checks(service, nc, bob, settings) -> None:
    settings.RES_BRIDGE = {"LOGIN_FAILURE_LIMIT": 0}
    answered: list[str] = []

    async def send(name: str, subject: str, payload: bytes) -> None:
        await nc.request(subject, payload, timeout=10)
        answered.append(name)

    logins = [send(f"login {i}", LOGIN, attempt(f"c{i}")) for i in range(8)]
    refresh = dumps({"cid": "r", "token": await db(token_for)(bob)})
    await asyncio.gather(*logins, send("refresh", f"{AUTH}.refresh", refresh))
    assert answered.index("refresh") < 2  # answered while the first two password checks ran
    assert SlowHasher.most == 2  # LOGIN_CONCURRENCY


async def test_failed_logins_per_username(service, ask, bob, settings) -> None:
    settings.RES_BRIDGE = {"LOGIN_FAILURE_LIMIT": 3, "LOGIN_COOLOFF": 60}
    for i in range(3):
        assert (await ask(LOGIN, raw=attempt(f"c{i}")))["error"]["message"] == (
            "Invalid username or password"
        )
    checks = SlowHasher.most
    refused = await ask(LOGIN, raw=attempt("c9", password="demo"))
    assert refused == {
        "error": {"code": "system.accessDenied", "message": "Too many failed logins: try again in 60 seconds"}
    }
    assert SlowHasher.most == checks and SlowHasher.running == 0  # refused without a password check
    await db(User.objects.create_user)("carol", password="demo")
    assert "result" in await ask(LOGIN, raw=attempt("c9", "carol", "demo"))  # others log in


async def test_failed_logins_per_connection_and_success_clears(service, ask, bob, settings) -> None:
    settings.RES_BRIDGE = {"LOGIN_FAILURE_LIMIT": 2, "LOGIN_COOLOFF": 60}
    assert "error" in await ask(LOGIN, raw=attempt("c1", "nobody"))
    assert "result" in await ask(LOGIN, raw=attempt("c1", "bob", "demo"))  # clears c1's count
    for name in ("nobody", "someone"):
        denied = await ask(LOGIN, raw=attempt("c1", name))
        assert denied["error"]["message"] == "Invalid username or password"
    refused = await ask(LOGIN, raw=attempt("c1", "bob", "demo"))
    assert refused["error"]["message"] == "Too many failed logins: try again in 60 seconds"
    assert "result" in await ask(LOGIN, raw=attempt("c2", "bob", "demo"))  # another connection
