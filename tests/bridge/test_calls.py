"""Call requests: set, new, delete, custom methods, and the errors they answer with."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from res_bridge import ModelResource
from res_bridge.publisher import round_trip
from res_bridge.registry import Registry
from res_bridge.service import Service
from res_bridge.tokens import token_for
from tests.bridge.conftest import db
from tests.bridge.testapp.models import Cart, Order, Product

pytestmark = pytest.mark.django_db(transaction=True)


def call(params=None, token=None) -> dict:
    return {"cid": "conn1", "token": token, "params": params}


#: Django REST framework's messages (the test app's resources use the serializers the bridge makes).
BLANK = "This field may not be blank."
REQUIRED = "This field is required."
TOO_LONG = "Ensure this field has no more than 100 characters."


def invalid(message: str, data: dict) -> dict:
    return {"error": {"code": "system.invalidParams", "message": message, "data": data}}


@pytest.fixture
async def product(service) -> Product:
    created = await db(Product.objects.create)(name="Animal Farm", maker="George Orwell")
    await service.flush()
    return created


async def test_set_publishes_the_change_before_replying(service, ask, record, nc, product):
    both = await record(">")
    reply = await ask(f"call.store.product.{product.pk}.set", call({"name": "1984"}))
    assert reply == {"result": None}
    seen = [(s, p) for s, p in await both.settle(nc) if not s.startswith("_INBOX") or p == reply]
    events = [m for m in seen if m[0].startswith("event.")]
    assert events[:1] == [(f"event.store.product.{product.pk}.change", {"values": {"name": "1984"}})]
    subjects = [s for s, _ in seen]
    reply_at = next(i for i, (s, p) in enumerate(seen) if s.startswith("_INBOX") and p == reply)
    assert subjects.index(f"event.store.product.{product.pk}.change") < reply_at
    assert (await db(Product.objects.get)(pk=product.pk)).name == "1984"


async def test_set_without_a_change_publishes_nothing(service, ask, record, nc, product):
    events = await record("event.>")
    assert await ask(f"call.store.product.{product.pk}.set", call({"name": "Animal Farm"})) == {
        "result": None
    }
    assert await ask(f"call.store.product.{product.pk}.set", call(None)) == {"result": None}
    assert await events.settle(nc) == []


@pytest.mark.parametrize(
    "params,expected",
    [
        ({"name": ["x"]}, invalid("Not a valid string.", {"name": ["Not a valid string."]})),
        ({"name": ""}, invalid(BLANK, {"name": [BLANK]})),
        ({"maker": "  "}, invalid(BLANK, {"maker": [BLANK]})),
        ({"name": "x" * 101}, invalid(TOO_LONG, {"name": [TOO_LONG]})),
        ({"maker": None}, invalid("This field may not be null.", {"maker": ["This field may not be null."]})),
        ([1, 2], {"error": {"code": "system.invalidParams", "message": "Params must be an object"}}),
    ],
)
async def test_set_validation(service, ask, record, nc, product, params, expected):
    events = await record("event.>")
    assert await ask(f"call.store.product.{product.pk}.set", call(params)) == expected
    assert await events.settle(nc) == []


@pytest.mark.parametrize(
    "subject,expected",
    [
        ("call.store.product.999999.set", "system.notFound"),
        ("call.store.nothing.set", "system.notFound"),
        ("call.store.product.{pk}.fly", "system.methodNotFound"),
        ("call.store.products.set", "system.methodNotFound"),
        ("call.store.product.{pk}.orders.new", "system.methodNotFound"),
        ("call.store.order.{pk}.set", "system.methodNotFound"),
    ],
)
async def test_call_errors(service, ask, product, subject, expected):
    reply = await ask(subject.format(pk=product.pk), call({"name": "x"}))
    assert reply["error"]["code"] == expected


async def test_new_replies_with_a_resource_and_adds_to_the_collection(service, ask, record, nc, product):
    events = await record("event.store.products.add")
    reply = await ask("call.store.products.new", call({"name": "Coraline", "maker": "Neil Gaiman"}))
    created = await db(Product.objects.get)(name="Coraline")
    assert reply == {"resource": {"rid": f"store.product.{created.pk}"}}
    assert await events.wait(1) == [
        ("event.store.products.add", {"value": {"rid": f"store.product.{created.pk}"}, "idx": 1})
    ]


@pytest.mark.parametrize(
    "params,expected",
    [
        ({"name": "Coraline"}, invalid(REQUIRED, {"maker": [REQUIRED]})),
        ({"name": "", "maker": "Neil Gaiman"}, invalid(BLANK, {"name": [BLANK]})),
        (None, invalid(REQUIRED, {"name": [REQUIRED], "maker": [REQUIRED]})),
        (
            {"name": "Coraline", "maker": {"a": 1}},
            invalid("Not a valid string.", {"maker": ["Not a valid string."]}),
        ),
    ],
)
async def test_new_validation(service, ask, params, expected):
    assert await ask("call.store.products.new", call(params)) == expected
    assert await db(Product.objects.count)() == 0


async def test_delete_on_the_collection(service, ask, record, nc, product):
    events = await record("event.>")
    assert await ask("call.store.products.delete", call({"id": "1"})) == {
        "error": {"code": "system.invalidParams", "message": "Product ID must be a number"}
    }
    assert await ask("call.store.products.delete", call({"id": 999999})) == {"result": None}
    assert await events.settle(nc) == []
    assert await ask("call.store.products.delete", call({"id": product.pk})) == {"result": None}
    messages = await events.wait(4)
    assert messages[:3] == [
        ("event.store.products.remove", {"idx": 0}),
        (f"event.store.product.{product.pk}.orders.delete", None),
        (f"event.store.product.{product.pk}.delete", None),
    ]
    assert messages[3][0] == "event.store.products.query"
    assert not await db(Product.objects.filter(pk=product.pk).exists)()


async def test_delete_on_the_model(service, ask, record, product):
    events = await record(f"event.store.product.{product.pk}.delete")
    assert await ask(f"call.store.product.{product.pk}.delete", call()) == {"result": None}
    assert await events.wait(1) == [(f"event.store.product.{product.pk}.delete", None)]


def _buyer_and_cart() -> tuple[User, Cart]:
    user = User.objects.create_user("reader")
    return user, Cart.objects.create(name="Mine", owner=user)


async def test_custom_methods(service, ask, record, product):
    user, cart = await db(_buyer_and_cart)()
    events = await record(f"event.store.cart.{cart.pk}.products.*")
    reply = await ask(f"call.store.cart.{cart.pk}.addProduct", call({"id": product.pk}))
    assert reply == {"result": None}
    assert await events.wait(1) == [
        (
            f"event.store.cart.{cart.pk}.products.add",
            {"value": {"rid": f"store.product.{product.pk}"}, "idx": 0},
        )
    ]
    assert (await ask(f"call.store.cart.{cart.pk}.addProduct", call({"id": "x"})))["error"] == {
        "code": "system.invalidParams",
        "message": "Product ID must be a number",
    }
    reply = await ask(f"call.store.product.{product.pk}.order", call(token=token_for(user)))
    order = await db(Order.objects.get)(product=product)
    assert reply == {"resource": {"rid": f"store.order.{order.pk}"}}
    assert order.buyer_id == user.pk
    assert (await ask(f"call.store.product.{product.pk}.order", call()))["error"][
        "code"
    ] == "system.accessDenied"


async def test_new_shelf_belongs_to_the_caller(service, ask):
    user, _ = await db(_buyer_and_cart)()
    reply = await ask("call.store.carts.new", call({"name": "Later"}, token=token_for(user)))
    cart = await db(Cart.objects.get)(name="Later")
    assert reply == {"resource": {"rid": f"store.cart.{cart.pk}"}}
    assert cart.owner_id == user.pk


class OrderWithNew(ModelResource):
    model = Order
    rid = "refs.order.{pk}"
    fields = ["id", "product", "due"]
    collection = "refs.orders"

    def perform_create(self, serializer, request):
        return serializer.save(buyer=request.user)


class ProductForRefs(ModelResource):
    model = Product
    rid = "refs.product.{pk}"
    fields = ["id", "name"]


@pytest.mark.parametrize(
    "product,expected",
    [
        ("{pk}", None),
        ({"rid": "refs.product.{pk}"}, None),
        ({"rid": "refs.product.999999"}, {"product": ['Invalid pk "999999" - object does not exist.']}),
        ({"rid": "store.product.{pk}"}, {"product": ["Incorrect type. Expected pk value, received dict."]}),
    ],
)
async def test_references_in_params_name_rows(nats_url, ask, product, expected):
    registry = Registry()
    registry.register(OrderWithNew)
    registry.register(ProductForRefs)
    service = Service(registry, nats_url=nats_url, queue_group="refs")
    await service.start()
    await round_trip(service.nc, 5)
    try:
        user, _ = await db(_buyer_and_cart)()
        target = await db(Product.objects.create)(name="Referenced", maker="X")
        value = (
            int(product.format(pk=target.pk))
            if isinstance(product, str)
            else {"rid": product["rid"].format(pk=target.pk)}
        )
        reply = await ask(
            "call.refs.orders.new", call({"product": value, "due": "2030-05-06"}, token=token_for(user))
        )
        if expected is None:
            order = await db(Order.objects.get)(product=target)
            assert reply == {"resource": {"rid": f"refs.order.{order.pk}"}}
            assert await ask(f"get.refs.order.{order.pk}") == {
                "result": {
                    "model": {
                        "id": order.pk,
                        "product": {"rid": f"refs.product.{target.pk}"},
                        "due": "2030-05-06",
                    }
                }
            }
        else:
            assert reply["error"]["data"] == expected
    finally:
        await service.stop()
