"""System checks for resource declarations, and the package's public names."""

from __future__ import annotations

import pytest
from django.core import checks

import res_bridge
from res_bridge import ModelResource
from res_bridge.checks import check_resources, check_settings
from res_bridge.registry import Registry
from tests.bridge.testapp.models import Cart, Order, Product


def resource(model, **attrs) -> type[ModelResource]:
    return type(f"{model.__name__}Resource", (ModelResource,), {"model": model, **attrs})


PRODUCT = {"rid": "lib.product.{pk}", "fields": ["id", "name", "maker"], "collection": "lib.products"}
ORDER = {"rid": "lib.order.{pk}", "fields": ["id", "product", "buyer_id", "due"]}

CASES = [
    # resource declarations, expected (check id, message) pairs
    ([resource(Product, **PRODUCT), resource(Order, **ORDER)], []),
    (
        [resource(Product, **{**PRODUCT, "fields": ["id", "titel"]})],
        [("res_bridge.E001", "ProductResource: unknown field 'titel' in fields.")],
    ),
    (
        [resource(Product, **PRODUCT), resource(Order, **{**ORDER, "rid": "lib.product.{pk}"})],
        [
            (
                "res_bridge.E002",
                "ProductResource: RID 'lib.product.{pk}' clashes with 'lib.product.{pk}' of OrderResource.",
            ),
            (
                "res_bridge.E002",
                "OrderResource: RID 'lib.product.{pk}' clashes with 'lib.product.{pk}' of ProductResource.",
            ),
        ],
    ),
    (
        [resource(Product, **{**PRODUCT, "collection": "lib.order.all"}), resource(Order, **ORDER)],
        [
            (
                "res_bridge.E002",
                "ProductResource: RID 'lib.order.all' clashes with 'lib.order.{pk}' of OrderResource.",
            ),
            (
                "res_bridge.E002",
                "OrderResource: RID 'lib.order.{pk}' clashes with 'lib.order.all' of ProductResource.",
            ),
        ],
    ),
    (
        [resource(Order, **{**ORDER, "fields": ["id", "product", "buyer"]})],
        [
            (
                "res_bridge.E003",
                "OrderResource: field 'product' refers to Product, which has no registered resource.",
            ),
            (
                "res_bridge.E003",
                "OrderResource: field 'buyer' refers to User, which has no registered resource.",
            ),
        ],
    ),
    (
        [resource(Product, **{**PRODUCT, "relations": {"orders": "lib.product.{pk}.orders"}})],
        [
            (
                "res_bridge.E003",
                "ProductResource: relation 'orders' holds Order, which has no registered resource.",
            )
        ],
    ),
    (
        [resource(Product, **{**PRODUCT, "rid": "lib.product"})],
        [("res_bridge.E004", "ProductResource: invalid RID 'lib.product'.")],
    ),
    (
        [resource(Product, **{**PRODUCT, "rid": "lib.product.{slug}"})],
        [("res_bridge.E004", "ProductResource: the placeholder {slug} is not a field of Product.")],
    ),
    (
        [
            resource(Product, **PRODUCT),
            resource(Cart, rid="lib.cart.{pk}", fields=["id"], relations={"name": "lib.s.{pk}.n"}),
        ],
        [
            (
                "res_bridge.E005",
                "CartResource: relation 'name' is not a many-to-many field or a reverse foreign key of Cart.",
            )
        ],
    ),
    (
        [resource(Product, **{**PRODUCT, "query_ordering": ["rating"]})],
        [
            (
                "res_bridge.E006",
                "ProductResource: 'rating' in ordering or query options is not a field of Product.",
            )
        ],
    ),
]


@pytest.mark.parametrize("resources,expected", CASES)
def test_resource_checks(resources, expected):
    registry = Registry()
    for resource_class in resources:
        registry.register(resource_class)
    found = [(m.id, m.msg) for m in check_resources(reg=registry)]
    assert found == expected
    assert all(m.level == checks.ERROR and m.hint for m in check_resources(reg=registry))


def test_the_project_passes_its_checks():
    assert check_resources() == []
    assert check_settings() == []


@pytest.mark.parametrize(
    "extra,expected",
    [
        ({"MAX_PAGE_SIZE": 50, "QUERY_EVENT_DURATION": 1, "AUTH_RID": "site.auth"}, []),
        ({"MAX_PAGESIZE": 50}, [("res_bridge.W001", "Unknown RES_BRIDGE setting 'MAX_PAGESIZE'.")]),
        ({"MAX_PAGE_SIZE": 0}, [("res_bridge.E007", "Invalid RES_BRIDGE setting MAX_PAGE_SIZE=0.")]),
        (
            {"EVENT_BUFFER_SIZE": "10"},
            [("res_bridge.E007", "Invalid RES_BRIDGE setting EVENT_BUFFER_SIZE='10'.")],
        ),
        ({"NATS_URL": ""}, [("res_bridge.E007", "Invalid RES_BRIDGE setting NATS_URL=''.")]),
    ],
)
def test_settings_checks(settings, extra, expected):
    settings.RES_BRIDGE = {**settings.RES_BRIDGE, **extra}
    assert [(m.id, m.msg) for m in check_settings()] == expected


def test_registering_a_model_twice_fails():
    registry = Registry()
    registry.register(resource(Product, **PRODUCT))
    with pytest.raises(ValueError, match="Product is already registered"):
        registry.register(resource(Product, **PRODUCT))


def test_public_names():
    from res_bridge import conf, events, publisher, registry, requests, resources, service

    assert {name: getattr(res_bridge, name) for name in res_bridge.__all__} == {
        "ModelResource": resources.ModelResource,
        "Request": requests.Request,
        "ResourceResponse": requests.ResourceResponse,
        "Service": service.Service,
        "announce_change": events.announce_change,
        "announce_reset": events.announce_reset,
        "bridge_settings": conf.bridge_settings,
        "call_method": resources.call_method,
        "flush": publisher.flush,
        "publish": publisher.publish,
        "publish_event": publisher.publish_event,
        "publish_reaccess": publisher.publish_reaccess,
        "publish_reset": publisher.publish_reset,
        "publish_token_reset": publisher.publish_token_reset,
        "register": registry.register,
    }
    assert res_bridge.__all__ == sorted(res_bridge.__all__)
    with pytest.raises(AttributeError, match="module 'res_bridge' has no attribute 'nothing'"):
        res_bridge.nothing  # noqa: B018
