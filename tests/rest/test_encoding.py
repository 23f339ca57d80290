"""Encoding loaded resource trees as HTTP bodies: json (href objects) and jsonflat."""

from __future__ import annotations

import orjson
import pytest

from res_gateway.connection import Resource, ResourceTree
from res_gateway.http.encoding import TreeEncoder
from res_protocol.values import normalize_collection, normalize_model

from .resources import COLLECTIONS, ERRORS, EXPECTED, MODELS, references


def tree(rid: str) -> ResourceTree:
    """The tree a cache load of ``rid`` gives: every resource reachable by hard references."""
    resources, errors, todo = {}, {}, [rid]
    while todo:
        current = todo.pop()
        if current in resources or current in errors:
            continue
        if current in MODELS:
            resources[current] = Resource("model", normalize_model(MODELS[current]))
        elif current in COLLECTIONS:
            resources[current] = Resource("collection", normalize_collection(COLLECTIONS[current]))
        else:
            errors[current] = ERRORS[current]
        todo.extend(references(current))
    return ResourceTree(rid, resources, errors)


CASES = [(enc, rid) for enc, bodies in EXPECTED.items() for rid in bodies]


@pytest.mark.parametrize(("encoding", "rid"), CASES)
def test_encode(encoding, rid):
    encoder = TreeEncoder("/api/", flat=encoding == "jsonflat")
    assert orjson.loads(encoder.encode(tree(rid))) == EXPECTED[encoding][rid]


def test_hrefs_use_the_given_api_path_and_escape_queries():
    t = ResourceTree(
        "a.b",
        {"a.b": Resource("model", {"x": {"rid": "c.d?q=1", "soft": True}})},
        {},
    )
    assert TreeEncoder("http://host/rest/").value(t) == {"x": {"href": "http://host/rest/c/d%3Fq=1"}}


def test_model_keys_keep_their_order():
    t = ResourceTree("a.b", {"a.b": Resource("model", {"z": 1, "a": 2, "m": 3})}, {})
    assert TreeEncoder("/api/").encode(t) == b'{"z":1,"a":2,"m":3}'
