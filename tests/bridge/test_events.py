"""Events from the ORM: exact subjects and payloads, published only after commit."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.models import User
from django.db import connection, transaction

import res_bridge
from res_bridge.events import QUERY_SUBJECT_PREFIX
from res_bridge.registry import registry
from res_protocol import dumps, loads
from tests.bridge.conftest import db
from tests.bridge.testapp.models import Cart, Order, Product

pytestmark = pytest.mark.django_db(transaction=True)


def ref(model: str, pk: int) -> dict:
    return {"rid": f"store.{model}.{pk}"}


def without_queries(messages: list) -> list:
    return [m for m in messages if not m[0].endswith(".query")]


@pytest.fixture
async def events(service, record):
    """Every event the service publishes from here on."""
    return await record("event.>")


async def settle(service, events, nc) -> list:
    await service.flush()
    return await events.settle(nc)


async def test_create_update_delete(service, events, nc):
    product = await db(Product.objects.create)(name="Animal Farm", maker="George Orwell")
    product.maker = "Eric Blair"
    await db(product.save)()
    await db(product.save)()  # nothing changed: no event
    pk = product.pk
    await db(product.delete)()
    messages = await settle(service, events, nc)
    assert without_queries(messages) == [
        ("event.store.products.add", {"value": ref("product", pk), "idx": 0}),
        (f"event.store.product.{pk}.change", {"values": {"maker": "Eric Blair"}}),
        ("event.store.products.remove", {"idx": 0}),
        (f"event.store.product.{pk}.orders.delete", None),
        (f"event.store.product.{pk}.delete", None),
    ]
    queries = [m for m in messages if m[0].endswith(".query")]
    assert [s for s, _ in queries] == ["event.store.products.query"] * 3
    assert all(p["subject"].startswith(QUERY_SUBJECT_PREFIX + ".") for _, p in queries)


async def test_add_index_follows_the_collection_order(service, events, nc, monkeypatch):
    resource = registry.resource_for(Product)
    monkeypatch.setitem(resource.__dict__, "order_by", ["name", "pk"])
    monkeypatch.delitem(resource.__dict__, "order_attnames", raising=False)
    b = await db(Product.objects.create)(name="B", maker="x")
    d = await db(Product.objects.create)(name="D", maker="x")
    a = await db(Product.objects.create)(name="A", maker="x")
    c = await db(Product.objects.create)(name="C", maker="x")
    a.name = "E"  # moves from first to last
    await db(a.save)()
    assert without_queries(await settle(service, events, nc)) == [
        ("event.store.products.add", {"value": ref("product", b.pk), "idx": 0}),
        ("event.store.products.add", {"value": ref("product", d.pk), "idx": 1}),
        ("event.store.products.add", {"value": ref("product", a.pk), "idx": 0}),
        ("event.store.products.add", {"value": ref("product", c.pk), "idx": 2}),
        (f"event.store.product.{a.pk}.change", {"values": {"name": "E"}}),
        ("event.store.products.remove", {"idx": 0}),
        ("event.store.products.add", {"value": ref("product", a.pk), "idx": 3}),
    ]


async def test_rolled_back_writes_publish_nothing(service, events, nc):
    def write_and_fail() -> None:
        with transaction.atomic():
            Product.objects.create(name="Never", maker="Nobody")
            raise RuntimeError("rollback")

    with pytest.raises(RuntimeError):
        await db(write_and_fail)()
    assert await settle(service, events, nc) == []
    assert await db(Product.objects.count)() == 0


async def test_events_wait_for_the_commit(service, events, nc):
    def write_in_transaction() -> list:
        with transaction.atomic():
            Product.objects.create(name="Later", maker="Someone")
            seen_inside = list(events.messages)
        return seen_inside

    assert await db(write_in_transaction)() == []
    assert [s for s, _ in await settle(service, events, nc)][:1] == ["event.store.products.add"]


def _users_books_loan() -> tuple[User, Product, Product, Order]:
    user = User.objects.create_user("reader")
    first = Product.objects.create(name="A", maker="X")
    second = Product.objects.create(name="B", maker="Y")
    order = Order.objects.create(product=first, buyer=user, due=datetime.date(2030, 1, 1))
    return user, first, second, order


async def test_foreign_key_moves_between_relation_collections(service, events, nc):
    user, first, second, order = await db(_users_books_loan)()
    await service.flush()
    await events.settle(nc)
    events.clear()
    order.product = second
    await db(order.save)()
    pk = order.pk
    await db(order.delete)()
    assert await settle(service, events, nc) == [
        (f"event.store.order.{pk}.change", {"values": {"product": ref("product", second.pk)}}),
        (f"event.store.product.{first.pk}.orders.remove", {"idx": 0}),
        (f"event.store.product.{second.pk}.orders.add", {"value": ref("order", pk), "idx": 0}),
        (f"event.store.product.{second.pk}.orders.remove", {"idx": 0}),
        (f"event.store.order.{pk}.delete", None),
    ]


async def test_created_loan_is_added_to_its_book(service, events, nc):
    user, first, second, order = await db(_users_books_loan)()
    messages = without_queries(await settle(service, events, nc))
    assert (
        f"event.store.product.{first.pk}.orders.add",
        {"value": ref("order", order.pk), "idx": 0},
    ) in messages


def _shelf_and_books() -> tuple[Cart, list[Product]]:
    user = User.objects.create_user("owner")
    products = [Product.objects.create(name=t, maker="X") for t in "ABCD"]
    return Cart.objects.create(name="Mine", owner=user), products


async def test_many_to_many_changes(service, events, nc):
    cart, (a, b, c, d) = await db(_shelf_and_books)()
    b_pk = b.pk
    await service.flush()
    await events.settle(nc)
    events.clear()
    name = f"event.store.cart.{cart.pk}.products"
    await db(cart.products.add)(c, a)
    await db(cart.products.add)(b)
    await db(d.carts.add)(cart)  # from the other side
    await db(cart.products.remove)(a, c)
    await db(b.delete)()  # its row in the through table goes without an m2m signal
    await db(cart.products.clear)()
    messages = [m for m in await settle(service, events, nc) if m[0].startswith(name)]
    assert messages == [
        (f"{name}.add", {"value": ref("product", a.pk), "idx": 0}),
        (f"{name}.add", {"value": ref("product", c.pk), "idx": 1}),
        (f"{name}.add", {"value": ref("product", b_pk), "idx": 1}),
        (f"{name}.add", {"value": ref("product", d.pk), "idx": 3}),
        (f"{name}.remove", {"idx": 2}),
        (f"{name}.remove", {"idx": 0}),
        (f"{name}.remove", {"idx": 0}),
        (f"{name}.remove", {"idx": 0}),
    ]


async def test_deleting_the_owner_deletes_its_collections(service, events, nc):
    cart, products = await db(_shelf_and_books)()
    await db(cart.products.add)(*products)
    await service.flush()
    await events.settle(nc)
    events.clear()
    pk = cart.pk
    await db(cart.delete)()
    assert without_queries(await settle(service, events, nc)) == [
        ("event.store.carts.remove", {"idx": 0}),
        (f"event.store.cart.{pk}.products.delete", None),
        (f"event.store.cart.{pk}.delete", None),
    ]


async def test_writes_the_signals_miss_are_captured(service, events, nc, record):
    resets = await record("system.reset")
    product = await db(Product.objects.create)(name="Old", maker="X")
    await settle(service, events, nc)
    events.clear()
    resets.clear()

    def bulk_writes() -> None:
        with transaction.atomic():
            Product.objects.filter(pk=product.pk).update(name="New")
            Product.objects.bulk_create([Product(name="Bulk", maker="Y")])
            with connection.cursor() as cursor:
                cursor.execute(f"DELETE FROM {Product._meta.db_table} WHERE id = %s", [product.pk])

    await db(bulk_writes)()
    assert without_queries(await settle(service, events, nc)) == [
        (f"event.store.product.{product.pk}.change", {"values": {"name": "New"}}),
        (f"event.store.product.{product.pk}.orders.delete", None),
        (f"event.store.product.{product.pk}.delete", None),
    ]
    # the relay may take the rows in one pass or two: a query event for each
    assert {s for s, _ in events.messages if s.endswith(".query")} == {"event.store.products.query"}
    assert resets.messages == [("system.reset", {"resources": ["store.products"]})]


async def test_announcements_send_resets(service, record, nc):
    resets = await record("system.reset")
    product = await db(Product.objects.create)(name="Old", maker="X")
    await db(res_bridge.announce_change)(product)
    await db(res_bridge.announce_reset)(Product)
    pk = product.pk
    await db(product.delete)()
    await db(res_bridge.announce_change)(Product, pk=pk)
    assert await settle(service, resets, nc) == [
        ("system.reset", {"resources": ["store.cart.*.products", "store.products"]}),
        (
            "system.reset",
            {
                "resources": [
                    "store.cart.*.products",
                    "store.product.*",
                    "store.product.*.orders",
                    "store.products",
                ]
            },
        ),
        ("system.reset", {"resources": ["store.cart.*.products", "store.products"]}),
    ]


async def test_query_events_are_answered_with_the_query_result(service, events, nc):
    orwell = await db(Product.objects.create)(name="Animal Farm", maker="George Orwell")
    await db(Product.objects.create)(name="Coraline", maker="Neil Gaiman")
    messages = await settle(service, events, nc)
    subject = [p["subject"] for s, p in messages if s == "event.store.products.query"][-1]
    reply = loads((await nc.request(subject, dumps({"query": "maker=orwell"}), timeout=5)).data)
    assert reply == {"result": {"collection": [ref("product", orwell.pk)]}}
    reply = loads((await nc.request(subject, dumps({"query": "limit=500"}), timeout=5)).data)
    assert reply["error"]["code"] == "system.invalidQuery"


async def test_expired_query_subjects_are_not_answered(service, nc):
    import nats.errors

    subject = f"{QUERY_SUBJECT_PREFIX}.1000.0123456789abcdef.store.products"
    with pytest.raises(nats.errors.TimeoutError):
        await nc.request(subject, dumps({"query": "maker=x"}), timeout=0.5)
