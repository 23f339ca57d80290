"""Authentication from ResClient: a token set by an auth call grants access; logging out revokes it."""

from __future__ import annotations

import pytest

from res_protocol import ResError

SECRET = {"rid": "interop.secret", "type": "model", "value": {"message": "members only"}}


async def expect_error(code: str, request) -> None:
    with pytest.raises(ResError) as raised:
        await request
    assert raised.value.code == code


async def test_access_denied_before_login(books, resclient):
    client = await resclient()

    await expect_error("system.accessDenied", client.get("interop.secret"))


async def test_login_with_wrong_password_fails(books, resclient):
    client = await resclient()

    await expect_error(
        "interop.invalidCredentials",
        client.auth("interop.user", "login", {"username": "alice", "password": "guess"}),
    )
    await expect_error("system.accessDenied", client.get("interop.secret"))


async def test_login_grants_access_and_logout_revokes_it(books, resclient):
    client = await resclient()

    user = await client.auth("interop.user", "login", {"username": "alice", "password": "wonderland"})
    assert user == {"user": "alice"}
    assert await client.get("interop.secret") == SECRET

    assert await client.auth("interop.user", "logout") is None
    await client.next_event(event="unsubscribe", rid="interop.secret")
    await client.command("release", rid="interop.secret")
    await expect_error("system.accessDenied", client.get("interop.secret"))


async def test_token_is_per_connection(books, resclient):
    alice, anonymous = await resclient(), await resclient()

    await alice.auth("interop.user", "login", {"username": "alice", "password": "wonderland"})

    assert await alice.get("interop.secret") == SECRET
    await expect_error("system.accessDenied", anonymous.get("interop.secret"))
