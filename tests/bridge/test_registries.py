"""A registry of one's own: change capture and signal handlers compute events with the registry they are
given, never the default one (which serves the same models as ``store.*``)."""

from __future__ import annotations

import datetime
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User

from res_bridge import ModelResource
from res_bridge.events import connect_signals, disconnect_signals
from res_bridge.registry import Registry, registry
from res_bridge.testing import capture_events
from tests.bridge.testapp.models import Order, Product

pytestmark = pytest.mark.django_db

DUE = datetime.date(2030, 1, 1)


class ShopProduct(ModelResource):
    model = Product
    rid = "shop.product.{pk}"
    fields = ("id", "name", "orders")
    relations = {"orders": "shop.product.{pk}.orders"}


class ShopOrder(ModelResource):
    model = Order
    rid = "shop.order.{pk}"
    fields = ("id", "product")


@pytest.fixture
def shop() -> Registry:
    reg = Registry()
    reg.register(ShopProduct)
    reg.register(ShopOrder)
    return reg


@pytest.fixture
def shop_signals(shop: Registry) -> Iterator[Registry]:
    """The shop registry's signal handlers in place of the default registry's."""
    disconnect_signals(registry)
    connect_signals(shop)
    try:
        yield shop
    finally:
        disconnect_signals(shop)
        connect_signals(registry)


def _order() -> tuple[Product, Product, Order]:
    first = Product.objects.create(name="Lamp", maker="Lumen")
    second = Product.objects.create(name="Desk", maker="Oak")
    buyer = User.objects.create_user("ann")
    return first, second, Order.objects.create(product=first, buyer=buyer, due=DUE)


def test_captured_changes_use_the_given_registry(shop: Registry) -> None:
    """A write the signals miss (``QuerySet.update``): the relay's events name the shop's resources."""
    first, second, order = _order()
    with capture_events(registry=shop) as events:
        Order.objects.filter(pk=order.pk).update(product=second)
    assert events[0] == (
        f"event.shop.order.{order.pk}.change",
        {"values": {"product": {"rid": f"shop.product.{second.pk}"}}},
    )
    resets = [body["resources"] for subject, body in events if subject == "system.reset"]
    assert [sorted(r) for r in resets] == [
        sorted([f"shop.product.{first.pk}.orders", f"shop.product.{second.pk}.orders"])
    ]


def test_signal_handlers_use_the_registry_they_were_connected_with(shop_signals: Registry) -> None:
    first, second, order = _order()
    with capture_events(registry=shop_signals) as events:
        Order.objects.create(product=second, buyer=order.buyer, due=DUE)
        order.product = second
        order.save()
    added = [(subject, body["idx"]) for subject, body in events if subject.endswith(".add")]
    assert added == [
        (f"event.shop.product.{second.pk}.orders.add", 0),
        (f"event.shop.product.{second.pk}.orders.add", 0),
    ]
    assert (f"event.shop.product.{first.pk}.orders.remove", {"idx": 0}) in events
    assert not [subject for subject, _ in events if ".store." in subject]
