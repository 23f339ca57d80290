"""Resources of the REST tests' service, as a service returns them (RES values, not normalized)."""

from __future__ import annotations

from typing import Any

from res_protocol.errors import NOT_FOUND, ResError
from res_protocol.values import hard_ref, normalize_collection, normalize_model

MODELS: dict[str, dict[str, Any]] = {
    "test.model": {"string": "foo", "int": 42, "bool": True, "null": None},
    "test.model.parent": {"name": "parent", "child": {"rid": "test.model"}},
    "test.model.grandparent": {"name": "grandparent", "child": {"rid": "test.model.parent"}},
    "test.model.brokenchild": {"name": "brokenchild", "child": {"rid": "test.err.notFound"}},
    "test.model.soft": {"name": "soft", "child": {"rid": "test.model", "soft": True}},
    "test.model.data": {
        "primitive": {"data": 12},
        "object": {"data": {"foo": ["bar"]}},
        "array": {"data": [1]},
    },
    "test.model.twice": {"a": {"rid": "test.model"}, "b": {"rid": "test.model"}},
    "test.m.self": {"a": {"rid": "test.m.self"}},
    "test.m.b": {"c": {"rid": "test.m.c"}},
    "test.m.c": {"b": {"rid": "test.m.b"}},
    "test.m.d": {"e": {"rid": "test.m.e"}, "f": {"rid": "test.m.f"}},
    "test.m.e": {"d": {"rid": "test.m.d"}},
    "test.m.f": {"d": {"rid": "test.m.d"}},
}
COLLECTIONS: dict[str, list[Any]] = {
    "test.collection": ["foo", 42, True, None],
    "test.collection.parent": ["parent", {"rid": "test.collection"}, {"rid": "test.model"}],
    "test.collection.data": [{"data": 12}, {"data": {"foo": ["bar"]}}, {"data": [{"foo": "bar"}]}],
    "test.c.b": [{"rid": "test.c.c"}],
    "test.c.c": [{"rid": "test.c.b"}],
}
ERRORS: dict[str, ResError] = {"test.err.notFound": NOT_FOUND}

MODEL = MODELS["test.model"]
COLLECTION = COLLECTIONS["test.collection"]

#: GET bodies per encoding, written out by hand.
EXPECTED: dict[str, dict[str, Any]] = {
    "json": {
        "test.model": MODEL,
        "test.model.parent": {"name": "parent", "child": {"href": "/api/test/model", "model": MODEL}},
        "test.model.grandparent": {
            "name": "grandparent",
            "child": {
                "href": "/api/test/model/parent",
                "model": {"name": "parent", "child": {"href": "/api/test/model", "model": MODEL}},
            },
        },
        "test.model.brokenchild": {
            "name": "brokenchild",
            "child": {
                "href": "/api/test/err/notFound",
                "error": {"code": "system.notFound", "message": "Not found"},
            },
        },
        "test.model.soft": {"name": "soft", "child": {"href": "/api/test/model"}},
        "test.model.data": {"primitive": 12, "object": {"foo": ["bar"]}, "array": [1]},
        "test.model.twice": {
            "a": {"href": "/api/test/model", "model": MODEL},
            "b": {"href": "/api/test/model", "model": MODEL},
        },
        "test.m.self": {"a": {"href": "/api/test/m/self"}},
        "test.m.b": {"c": {"href": "/api/test/m/c", "model": {"b": {"href": "/api/test/m/b"}}}},
        "test.m.d": {
            "e": {"href": "/api/test/m/e", "model": {"d": {"href": "/api/test/m/d"}}},
            "f": {"href": "/api/test/m/f", "model": {"d": {"href": "/api/test/m/d"}}},
        },
        "test.collection": COLLECTION,
        "test.collection.parent": [
            "parent",
            {"href": "/api/test/collection", "collection": COLLECTION},
            {"href": "/api/test/model", "model": MODEL},
        ],
        "test.collection.data": [12, {"foo": ["bar"]}, [{"foo": "bar"}]],
        "test.c.b": [{"href": "/api/test/c/c", "collection": [{"href": "/api/test/c/b"}]}],
    },
    "jsonflat": {
        "test.model": MODEL,
        "test.model.parent": {"name": "parent", "child": MODEL},
        "test.model.grandparent": {"name": "grandparent", "child": {"name": "parent", "child": MODEL}},
        "test.model.brokenchild": {
            "name": "brokenchild",
            "child": {"code": "system.notFound", "message": "Not found"},
        },
        "test.model.soft": {"name": "soft", "child": {"href": "/api/test/model"}},
        "test.model.data": {"primitive": 12, "object": {"foo": ["bar"]}, "array": [1]},
        "test.model.twice": {"a": MODEL, "b": MODEL},
        "test.m.self": {"a": {"href": "/api/test/m/self"}},
        "test.m.b": {"c": {"b": {"href": "/api/test/m/b"}}},
        "test.m.d": {"e": {"d": {"href": "/api/test/m/d"}}, "f": {"d": {"href": "/api/test/m/d"}}},
        "test.collection": COLLECTION,
        "test.collection.parent": ["parent", COLLECTION, MODEL],
        "test.collection.data": [12, {"foo": ["bar"]}, [{"foo": "bar"}]],
        "test.c.b": [[{"href": "/api/test/c/b"}]],
    },
}


def get_response(rid: str) -> dict[str, Any]:
    """The service's full response to ``get.<rid>``."""
    if rid in MODELS:
        return {"result": {"model": MODELS[rid]}}
    if rid in COLLECTIONS:
        return {"result": {"collection": COLLECTIONS[rid]}}
    return {"error": ERRORS.get(rid, NOT_FOUND).to_dict()}


def references(rid: str) -> list[str]:
    """The RIDs ``rid`` holds hard references to."""
    if rid in MODELS:
        values = normalize_model(MODELS[rid]).values()
    elif rid in COLLECTIONS:
        values = normalize_collection(COLLECTIONS[rid])
    else:
        return []
    return [r for r in map(hard_ref, values) if r is not None]
