"""``res_bridge.testing``: the service in-process, the client that asks it, and captured events."""

from __future__ import annotations

import asyncio
import time

import pytest
from django.contrib.auth.models import User
from django.db import transaction

from res_bridge import ModelResource, Request, call_method
from res_bridge.models import AccessRule
from res_bridge.registry import Registry
from res_bridge.testing import ResClient, capture_events, serve
from res_bridge.tokens import token_for
from res_protocol import ResError, errors
from tests.bridge.conftest import db
from tests.bridge.testapp.models import Product

db_transactions = pytest.mark.django_db(transaction=True)


@db_transactions
async def test_get_models_collections_and_queries(nats_url) -> None:
    first = await db(Product.objects.create)(name="Lamp", maker="Lumen")
    second = await db(Product.objects.create)(name="Desk", maker="Oak & Co")
    async with serve(nats_url) as client:
        assert await client.get(f"store.product.{first.pk}") == {
            "model": {"id": first.pk, "name": "Lamp", "maker": "Lumen"}
        }
        assert await client.get("store.products") == {
            "collection": [{"rid": f"store.product.{first.pk}"}, {"rid": f"store.product.{second.pk}"}]
        }
        assert await client.get("store.products?maker=oak") == {
            "collection": [{"rid": f"store.product.{second.pk}"}],
            "query": "maker=oak",
        }
        with pytest.raises(ResError) as raised:
            await client.get("store.product.999999")
        assert raised.value.to_dict() == {"code": errors.CODE_NOT_FOUND, "message": "Not found"}


@db_transactions
async def test_access_with_and_without_a_token(nats_url) -> None:
    user = await db(User.objects.create_user)("ann")
    await db(AccessRule.objects.create)(
        pattern="store.carts", applies_to="user", user=user, call_methods="new"
    )
    async with serve(nats_url) as client:
        assert await client.access("store.carts", token=token_for(user)) == {"get": True, "call": "new"}
        with pytest.raises(ResError) as raised:
            await client.access("store.carts")
        assert raised.value.code == errors.CODE_ACCESS_DENIED


@db_transactions
async def test_calls_reply_and_publish_their_events(nats_url) -> None:
    user = await db(User.objects.create_user)("ann")
    product = await db(Product.objects.create)(name="Lamp", maker="Lumen")
    rid = f"store.product.{product.pk}"
    async with serve(nats_url) as client:
        events = await client.listen(f"event.{rid}.>")
        assert await client.call(rid, "set", {"name": "Big lamp"}) is None
        assert await events.wait(1) == [(f"event.{rid}.change", {"values": {"name": "Big lamp"}})]
        created = await client.call("store.carts", "new", {"name": "Mine"}, token=token_for(user))
        cart = await db(user.carts.get)()
        assert created.rid == f"store.cart.{cart.pk}"
        with pytest.raises(ResError) as raised:
            await client.call(rid, "set", {"name": ""})
        assert raised.value.to_dict() == {
            "code": errors.CODE_INVALID_PARAMS,
            "message": "This field may not be blank.",
            "data": {"name": ["This field may not be blank."]},
        }


@db_transactions
async def test_auth_sets_the_token_on_the_client_connection(nats_url, settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    user = await db(User.objects.create_user)("ann", password="secret")
    async with serve(nats_url) as client:
        tokens = await client.listen(f"conn.{client.cid}.token")
        reply = await client.auth("django.auth", "login", {"username": "ann", "password": "secret"})
        assert reply == {"user": {"id": user.pk, "username": "ann", "is_staff": False}}
        [(_, payload)] = await tokens.wait(1)
        assert payload["token"]["user_id"] == user.pk


class SlowProduct(ModelResource):
    model = Product
    rid = "slow.product.{pk}"
    fields = ["id"]

    @call_method()
    def think(self, request: Request, product: Product) -> str:
        request.timeout(5)
        time.sleep(0.6)
        return "done"


@db_transactions
async def test_a_pre_response_extends_the_wait(nats_url) -> None:
    registry = Registry()
    registry.register(SlowProduct)
    product = await db(Product.objects.create)(name="Lamp", maker="Lumen")
    async with serve(nats_url, registry) as client:
        payload = {"params": None, "token": None, "cid": client.cid}
        assert await client.request(f"call.slow.product.{product.pk}.think", payload, wait=0.3) == "done"


async def test_no_reply_is_a_timeout_and_no_listener_not_found(nats_url) -> None:
    async with ResClient.connect(nats_url) as client:
        with pytest.raises(ResError) as raised:
            await client.request("get.nobody.home", {}, wait=1)
        assert raised.value.code == errors.CODE_NOT_FOUND
        await client.listen("get.nobody.home")  # a listener that never replies
        started = time.monotonic()
        with pytest.raises(TimeoutError, match="no reply to get.nobody.home"):
            await client.request("get.nobody.home", {}, wait=0.2)
        assert time.monotonic() - started < 5


@pytest.mark.django_db
def test_capture_events_in_a_test_case_transaction() -> None:
    with capture_events() as events:
        product = Product.objects.create(name="Lamp", maker="Lumen")
        assert events == []  # held until the block ends, as on commit
    pk = product.pk
    assert events[:2] == [
        ("event.store.products.add", {"value": {"rid": f"store.product.{pk}"}, "idx": 0}),
        ("event.store.products.query", {"subject": events[1][1]["subject"]}),
    ]
    assert len(events) == 2
    with capture_events() as events:
        product.name = "Big lamp"
        product.save()
    assert events == [(f"event.store.product.{pk}.change", {"values": {"name": "Big lamp"}}), events[1]]


@pytest.mark.django_db
def test_capture_events_sees_nothing_of_a_rolled_back_block() -> None:
    with capture_events() as events, pytest.raises(RuntimeError), transaction.atomic():
        Product.objects.create(name="Lamp", maker="Lumen")
        raise RuntimeError
    assert events == []


@db_transactions
def test_capture_events_in_autocommit() -> None:
    with capture_events() as events:
        product = Product.objects.create(name="Lamp", maker="Lumen")
    assert events[0] == (
        "event.store.products.add",
        {"value": {"rid": f"store.product.{product.pk}"}, "idx": 0},
    )


async def test_listen_waits_a_bounded_time(nats_url, monkeypatch) -> None:
    monkeypatch.setattr("res_bridge.testing.TIMEOUT", 0.1)
    async with ResClient.connect(nats_url) as client:
        listener = await client.listen("event.quiet.>")
        with pytest.raises(asyncio.TimeoutError):
            await listener.wait(1)
