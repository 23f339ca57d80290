"""The ModelResource class itself: no mutable class-level defaults, and the delete handlers' names (the old
ones work for one release, with a DeprecationWarning)."""

from __future__ import annotations

import inspect

import pytest
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db import models

from res_bridge import ModelResource, Request
from res_bridge.registry import Registry
from res_bridge.testing import serve
from tests.bridge.conftest import db
from tests.bridge.testapp.models import Product

db_transactions = pytest.mark.django_db(transaction=True)

MUTABLE = (list, dict, set, bytearray)


def test_no_class_level_default_is_mutable() -> None:
    defaults = {
        name: value
        for name, value in vars(ModelResource).items()
        if not name.startswith("__") and not callable(value) and not inspect.isdatadescriptor(value)
    }
    assert {"relations", "query_filters", "query_ordering", "call_methods"} <= set(defaults)
    assert {name: type(v).__name__ for name, v in defaults.items() if isinstance(v, MUTABLE)} == {}
    with pytest.raises(TypeError):
        ModelResource.relations["loans"] = "library.book.{pk}.loans"  # type: ignore[index]
    with pytest.raises(TypeError):
        ModelResource.query_filters["author"] = "author"  # type: ignore[index]


class Products(ModelResource):
    model = Product
    rid = "depr.product.{pk}"
    fields = ("id", "name")
    collection = "depr.products"


@db_transactions
async def test_delete_by_id_on_the_collection_and_delete_row_on_the_row(nats_url) -> None:
    registry = Registry()
    registry.register(Products)
    resource = registry.resource_for(Product)
    assert resource.method_handler("delete", detail=False) == resource.call_delete_by_id
    assert resource.method_handler("delete", detail=True) == resource.call_delete_row
    first = await db(Product.objects.create)(name="Lamp", maker="Lumen")
    second = await db(Product.objects.create)(name="Desk", maker="Oak")
    async with serve(nats_url, registry) as client:
        assert await client.call("depr.products", "delete", {"id": first.pk}) is None
        assert await client.call(f"depr.product.{second.pk}", "delete") is None
    assert not await db(Product.objects.filter(pk__in=[first.pk, second.pk]).exists)()


@pytest.mark.django_db
def test_the_old_names_still_delete_with_a_warning() -> None:
    registry = Registry()
    registry.register(Products)
    resource = registry.resource_for(Product)
    first = Product.objects.create(name="Lamp", maker="Lumen")
    second = Product.objects.create(name="Desk", maker="Oak")
    with pytest.warns(
        DeprecationWarning, match=r"ModelResource.call_delete is deprecated: use call_delete_by_id"
    ):
        resource.call_delete(Request("call", "depr.products", "delete", params={"id": first.pk}))
    with pytest.warns(
        DeprecationWarning, match=r"ModelResource.call_destroy is deprecated: use call_delete_row"
    ):
        resource.call_destroy(Request("call", f"depr.product.{second.pk}", "delete"), second)
    assert not Product.objects.filter(pk__in=[first.pk, second.pk]).exists()


@db_transactions
async def test_an_override_of_an_old_name_is_still_called(nats_url) -> None:
    deleted: list[int] = []
    with pytest.warns(
        DeprecationWarning,
        match=r"Archived.call_destroy overrides a deprecated name: rename it call_delete_row",
    ):

        class Archived(Products):
            def call_destroy(self, request: Request, obj: models.Model) -> None:
                deleted.append(obj.pk)  # kept, only marked

    registry = Registry()
    registry.register(Archived)
    product = await db(Product.objects.create)(name="Lamp", maker="Lumen")
    async with serve(nats_url, registry) as client:
        assert await client.call(f"depr.product.{product.pk}", "delete") is None
    assert deleted == [product.pk]
    assert await db(Product.objects.filter(pk=product.pk).exists)()


def test_get_field_is_a_field_of_the_model_never_a_reverse_relation() -> None:
    registry = Registry()
    registry.register(Products)
    resource = registry.resource_for(Product)
    assert resource.get_field("pk") is Product._meta.pk
    assert resource.get_field("name") is Product._meta.get_field("name")
    assert isinstance(resource.model_field("orders"), models.ManyToOneRel)
    with pytest.raises(FieldDoesNotExist, match="Product.orders is a reverse relation"):
        resource.get_field("orders")


def test_an_ordering_by_an_expression_is_refused_with_its_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    registry = Registry()
    registry.register(Products)
    resource = registry.resource_for(Product)
    monkeypatch.setattr(Product._meta, "ordering", [models.F("name").desc()])
    with pytest.raises(ImproperlyConfigured, match="Products: cannot order collections by the expression"):
        resource.order_by  # noqa: B018 - the property raises
