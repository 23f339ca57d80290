"""Get requests: models, collections, relation collections and query collections, and their errors."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.models import User

from tests.bridge.conftest import db
from tests.bridge.testapp.models import Cart, Order, Product

pytestmark = pytest.mark.django_db(transaction=True)

PRODUCTS = [
    ("Animal Farm", "George Orwell"),
    ("Brave New World", "Aldous Huxley"),
    ("Coraline", "Neil Gaiman"),
]


@pytest.fixture
async def products() -> list[Product]:
    return [await db(Product.objects.create)(name=t, maker=a) for t, a in PRODUCTS]


async def test_get_book_model(service, ask, products):
    product = products[0]
    reply = await ask(f"get.store.product.{product.pk}")
    assert reply == {"result": {"model": {"id": product.pk, "name": "Animal Farm", "maker": "George Orwell"}}}


async def test_get_books_collection_ordered_by_id(service, ask, products):
    reply = await ask("get.store.products")
    assert reply == {"result": {"collection": [{"rid": f"store.product.{b.pk}"} for b in products]}}


async def test_empty_payload_and_null_fields_are_absent(service, ask, products):
    assert await ask("get.store.products", raw=b"") == await ask("get.store.products", {"query": None})


@pytest.mark.parametrize(
    "rid",
    [
        "store.product.999999",
        "store.product.abc",
        "store.nothing",
        "store.product.1.unknown",
        "store.products.x",
    ],
)
async def test_unknown_resources_are_not_found(service, ask, products, rid):
    reply = await ask(f"get.{rid}")
    assert reply == {"error": {"code": "system.notFound", "message": "Not found"}}


async def test_invalid_json_payload_is_an_internal_error(service, ask):
    reply = await ask("get.store.products", raw=b"{not json")
    assert reply["error"]["code"] == "system.internalError"


def _shelf_with_loans() -> tuple[Cart, Product, Order]:
    user = User.objects.create_user("reader")
    first, second = Product.objects.create(name="A", maker="X"), Product.objects.create(name="B", maker="Y")
    cart = Cart.objects.create(name="Favourites", owner=user)
    cart.products.add(second, first)
    order = Order.objects.create(product=first, buyer=user, due=datetime.date(2030, 1, 2))
    return cart, first, order


async def test_references_and_relation_collections(service, ask):
    cart, product, order = await db(_shelf_with_loans)()
    assert await ask(f"get.store.cart.{cart.pk}") == {
        "result": {
            "model": {
                "id": cart.pk,
                "name": "Favourites",
                "owner_id": cart.owner_id,
                "products": {"rid": f"store.cart.{cart.pk}.products"},
            }
        }
    }
    assert await ask(f"get.store.cart.{cart.pk}.products") == {
        "result": {
            "collection": [{"rid": f"store.product.{product.pk}"}, {"rid": f"store.product.{product.pk + 1}"}]
        }
    }
    assert await ask(f"get.store.order.{order.pk}") == {
        "result": {
            "model": {
                "id": order.pk,
                "product": {"rid": f"store.product.{product.pk}"},
                "buyer_id": order.buyer_id,
                "due": "2030-01-02",
            }
        }
    }
    assert await ask(f"get.store.product.{product.pk}.orders") == {
        "result": {"collection": [{"rid": f"store.order.{order.pk}"}]}
    }
    assert await ask("get.store.carts") == {"result": {"collection": [{"rid": f"store.cart.{cart.pk}"}]}}
    assert (await ask("get.store.product.999999.orders"))["error"]["code"] == "system.notFound"


QUERIES = [
    # query, names in the result, normalized query
    ("maker=orwell", ["Animal Farm"], "maker=orwell"),
    ("limit=100&offset=0&maker=", ["Animal Farm", "Brave New World", "Coraline"], "limit=100"),
    ("order=", ["Animal Farm", "Brave New World", "Coraline"], "limit=100"),
    ("limit=100&maker=orwell", ["Animal Farm"], "maker=orwell"),
    ("order=-name&limit=2", ["Coraline", "Brave New World"], "limit=2&order=-name"),
    ("offset=1&order=maker", ["Animal Farm", "Coraline"], "offset=1&order=maker"),
    ("name=e&maker=a", ["Brave New World", "Coraline"], "maker=a&name=e"),
    ("offset=10", [], "offset=10"),
]


@pytest.mark.parametrize("query,names,normalized", QUERIES)
async def test_query_collection(service, ask, products, query, names, normalized):
    by_name = {b.name: b for b in products}
    reply = await ask("get.store.products", {"query": query})
    assert reply == {
        "result": {
            "collection": [{"rid": f"store.product.{by_name[t].pk}"} for t in names],
            "query": normalized,
        }
    }


@pytest.mark.parametrize(
    "query,message",
    [
        ("limit=101", "Invalid query: limit must not exceed 100"),
        ("limit=0", "Invalid query: limit must be an integer of at least 1"),
        ("offset=-1", "Invalid query: offset must be an integer of at least 0"),
        ("limit=ten", "Invalid query: limit must be an integer of at least 1"),
        ("color=red", "Invalid query: unknown parameter color"),
        ("order=due", "Invalid query: cannot order by due"),
        ("maker=a&maker=b", "Invalid query: maker given more than once"),
        ("a&&b", "Invalid query: malformed query string"),
    ],
)
async def test_invalid_queries(service, ask, query, message):
    reply = await ask("get.store.products", {"query": query})
    assert reply == {"error": {"code": "system.invalidQuery", "message": message}}


async def test_query_on_a_plain_resource_is_ignored(service, ask, products):
    reply = await ask(f"get.store.product.{products[0].pk}", {"query": "x=1"})
    assert reply["result"]["model"]["name"] == "Animal Farm"
    assert "query" not in reply["result"]


async def test_page_size_comes_from_the_settings(service, ask, products, settings):
    settings.RES_BRIDGE = {**settings.RES_BRIDGE, "MAX_PAGE_SIZE": 2}
    reply = await ask("get.store.products", {"query": "offset=0"})
    assert reply == {
        "result": {"collection": [{"rid": f"store.product.{b.pk}"} for b in products[:2]], "query": "limit=2"}
    }
    reply = await ask("get.store.products", {"query": "limit=3"})
    assert reply["error"] == {
        "code": "system.invalidQuery",
        "message": "Invalid query: limit must not exceed 2",
    }
