"""Authentication from ResClient: a token set by an auth call grants access; logging out revokes it."""

from __future__ import annotations

import pytest

from res_protocol import ResError

ALICE = {"username": "alice", "password": "wonderland"}


async def expect_error(code: str, request) -> None:
    with pytest.raises(ResError) as raised:
        await request
    assert raised.value.code == code


def secret(books) -> dict:
    return {"rid": books.rid("secret"), "type": "model", "value": {"message": "members only"}}


async def test_access_denied_before_login(books, resclient):
    client = await resclient()

    await expect_error("system.accessDenied", client.get(books.rid("secret")))


async def test_login_with_wrong_password_fails(books, resclient):
    client = await resclient()

    await expect_error(
        "interop.invalidCredentials",
        client.auth(books.rid("user"), "login", {**ALICE, "password": "guess"}),
    )
    await expect_error("system.accessDenied", client.get(books.rid("secret")))


async def test_login_grants_access_and_logout_revokes_it(books, resclient):
    client = await resclient()
    rid = books.rid("secret")

    assert await client.auth(books.rid("user"), "login", ALICE) == {"user": "alice"}
    assert await client.get(rid) == secret(books)

    assert await client.auth(books.rid("user"), "logout") is None
    await client.next_event(event="unsubscribe", rid=rid)
    await client.command("release", rid=rid)
    await expect_error("system.accessDenied", client.get(rid))


async def test_token_is_per_connection(books, resclient):
    alice, anonymous = await resclient(), await resclient()

    await alice.auth(books.rid("user"), "login", ALICE)

    assert await alice.get(books.rid("secret")) == secret(books)
    await expect_error("system.accessDenied", anonymous.get(books.rid("secret")))
