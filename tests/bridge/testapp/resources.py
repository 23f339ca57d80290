"""The store's resources, declared with ``fields`` (serializers made by the bridge).

- ``store.product.<id>``: ``{id, name, maker}``; ``set``, ``delete``, ``order`` (an order for the caller,
  replied as a resource). ``store.products``: every product; ``new``, ``delete`` {id}; queries
  ``store.products?maker=...&name=...&order=...&offset=...&limit=...``.
- ``store.product.<id>.orders``: its orders; ``store.order.<id>``: ``{id, product, buyer_id, due}``.
- ``store.cart.<id>``: ``{id, name, owner_id, products}``, ``addProduct`` {id}; ``store.cart.<id>.products``;
  ``store.carts``: every cart, ``new`` {name} for the caller.
"""

from __future__ import annotations

import datetime

from rest_framework import serializers

from res_bridge import ModelResource, Request, ResourceResponse, call_method, register
from res_protocol import errors

from .models import Cart, Order, Product


class ProductId(serializers.Serializer):
    """The params of ``addProduct``."""

    id = serializers.IntegerField()


@register
class ProductResource(ModelResource):
    model = Product
    rid = "store.product.{pk}"
    fields = ["id", "name", "maker"]
    collection = "store.products"
    relations = {"orders": "store.product.{pk}.orders"}
    query_filters = {"maker": "maker__icontains", "name": "name__icontains"}
    query_ordering = ["id", "name", "maker"]

    @call_method(params=serializers.Serializer)  # no params
    def order(self, request: Request, product: Product) -> ResourceResponse:
        if not request.user.is_authenticated:
            raise errors.ACCESS_DENIED()
        due = datetime.date.today() + datetime.timedelta(days=7)
        order = Order.objects.create(product=product, buyer=request.user, due=due)
        return ResourceResponse(self.registry.resource_for(Order).rid_for(order))


@register
class OrderResource(ModelResource):
    model = Order
    rid = "store.order.{pk}"
    fields = ["id", "product", "buyer_id", "due"]
    call_methods = ("delete",)


@register
class CartResource(ModelResource):
    model = Cart
    rid = "store.cart.{pk}"
    fields = ["id", "name", "owner_id", "products"]
    collection = "store.carts"
    relations = {"products": "store.cart.{pk}.products"}

    def perform_create(self, serializer: serializers.Serializer, request: Request) -> Cart:
        if not request.user.is_authenticated:
            raise errors.ACCESS_DENIED()
        return serializer.save(owner=request.user)

    @call_method("addProduct", params=ProductId)
    def add_product(self, request: Request, cart: Cart) -> None:
        cart.products.add(_product(request))


def _product(request: Request) -> Product:
    key = request.params.get("id") if isinstance(request.params, dict) else None
    if not isinstance(key, int) or isinstance(key, bool):
        raise errors.invalid_params("Product ID must be a number")
    product = Product.objects.filter(pk=key).first()
    if product is None:
        raise errors.NOT_FOUND()
    return product
