"""System checks for resource declarations, and the package's public names."""

from __future__ import annotations

import pytest
from django.core import checks

import res_bridge
from library.models import Book, Loan, Shelf
from res_bridge import ModelResource
from res_bridge.checks import check_resources, check_settings
from res_bridge.registry import Registry


def resource(model, **attrs) -> type[ModelResource]:
    return type(f"{model.__name__}Resource", (ModelResource,), {"model": model, **attrs})


BOOK = {"rid": "lib.book.{pk}", "fields": ["id", "title", "author"], "collection": "lib.books"}
LOAN = {"rid": "lib.loan.{pk}", "fields": ["id", "book", "borrower_id", "due"]}

CASES = [
    # resource declarations, expected (check id, message) pairs
    ([resource(Book, **BOOK), resource(Loan, **LOAN)], []),
    (
        [resource(Book, **{**BOOK, "fields": ["id", "titel"]})],
        [("res_bridge.E001", "BookResource: unknown field 'titel' in fields.")],
    ),
    (
        [resource(Book, **BOOK), resource(Loan, **{**LOAN, "rid": "lib.book.{pk}"})],
        [
            (
                "res_bridge.E002",
                "BookResource: RID 'lib.book.{pk}' clashes with 'lib.book.{pk}' of LoanResource.",
            ),
            (
                "res_bridge.E002",
                "LoanResource: RID 'lib.book.{pk}' clashes with 'lib.book.{pk}' of BookResource.",
            ),
        ],
    ),
    (
        [resource(Book, **{**BOOK, "collection": "lib.loan.all"}), resource(Loan, **LOAN)],
        [
            (
                "res_bridge.E002",
                "BookResource: RID 'lib.loan.all' clashes with 'lib.loan.{pk}' of LoanResource.",
            ),
            (
                "res_bridge.E002",
                "LoanResource: RID 'lib.loan.{pk}' clashes with 'lib.loan.all' of BookResource.",
            ),
        ],
    ),
    (
        [resource(Loan, **{**LOAN, "fields": ["id", "book", "borrower"]})],
        [
            (
                "res_bridge.E003",
                "LoanResource: field 'book' refers to Book, which has no registered resource.",
            ),
            (
                "res_bridge.E003",
                "LoanResource: field 'borrower' refers to User, which has no registered resource.",
            ),
        ],
    ),
    (
        [resource(Book, **{**BOOK, "relations": {"loans": "lib.book.{pk}.loans"}})],
        [("res_bridge.E003", "BookResource: relation 'loans' holds Loan, which has no registered resource.")],
    ),
    (
        [resource(Book, **{**BOOK, "rid": "lib.book"})],
        [("res_bridge.E004", "BookResource: invalid RID 'lib.book'.")],
    ),
    (
        [resource(Book, **{**BOOK, "rid": "lib.book.{slug}"})],
        [("res_bridge.E004", "BookResource: the placeholder {slug} is not a field of Book.")],
    ),
    (
        [
            resource(Book, **BOOK),
            resource(Shelf, rid="lib.shelf.{pk}", fields=["id"], relations={"name": "lib.s.{pk}.n"}),
        ],
        [
            (
                "res_bridge.E005",
                "ShelfResource: relation 'name' is not a many-to-many field or a reverse foreign key "
                "of Shelf.",
            )
        ],
    ),
    (
        [resource(Book, **{**BOOK, "query_ordering": ["rating"]})],
        [("res_bridge.E006", "BookResource: 'rating' in ordering or query options is not a field of Book.")],
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
    registry.register(resource(Book, **BOOK))
    with pytest.raises(ValueError, match="Book is already registered"):
        registry.register(resource(Book, **BOOK))


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
