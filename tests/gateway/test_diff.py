"""The differences a reset or query response turns into events (no processes needed)."""

from __future__ import annotations

import random

import pytest

from res_gateway.cache.diff import diff_collection, diff_model, same
from res_protocol import DELETE_ACTION


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [
        (1, 1, True),
        (1, 1.0, False),
        (1, True, False),
        (0, False, False),
        (None, None, True),
        ("1", 1, False),
        ({"rid": "a"}, {"rid": "a"}, True),
        ({"rid": "a"}, {"rid": "a", "soft": True}, False),
        ({"data": [1]}, {"data": [1]}, True),
        ({"data": [1]}, {"data": [True]}, False),
    ],
)
def test_same(a, b, equal):
    assert same(a, b) is equal


@pytest.mark.parametrize(
    ("old", "new", "values"),
    [
        ({"a": 1}, {"a": 1}, {}),
        ({"a": 1}, {"a": 2}, {"a": 2}),
        ({"a": 1}, {}, {"a": DELETE_ACTION}),
        ({}, {"a": None}, {"a": None}),
        ({"a": 1, "b": 2}, {"b": 2, "c": 3}, {"c": 3, "a": DELETE_ACTION}),
        ({"a": 1}, {"a": True}, {"a": True}),
        ({"r": {"rid": "x"}}, {"r": {"rid": "x", "soft": True}}, {"r": {"rid": "x", "soft": True}}),
    ],
)
def test_diff_model(old, new, values):
    assert diff_model(old, new) == values


def apply(collection: list, events: list) -> list:
    result = list(collection)
    for name, data in events:
        if name == "add":
            result.insert(data["idx"], data["value"])
        else:
            del result[data["idx"]]
    return result


@pytest.mark.parametrize(
    ("old", "new", "events"),
    [
        (["foo", 42, True, None], ["foo", 42, True, None], []),
        (["foo", 42, True, None], [42, "new", True, None],
         [("remove", {"idx": 0}), ("add", {"idx": 1, "value": "new"})]),
        ([], ["a"], [("add", {"idx": 0, "value": "a"})]),
        (["a"], [], [("remove", {"idx": 0})]),
        (["a", "b", "c"], ["c", "b", "a"],
         [("remove", {"idx": 1}), ("remove", {"idx": 0}),
          ("add", {"idx": 1, "value": "b"}), ("add", {"idx": 2, "value": "a"})]),
        ([1, 2, 3], [1, 2, 3, 4], [("add", {"idx": 3, "value": 4})]),
        ([1, True], [True, 1], [("remove", {"idx": 0}), ("add", {"idx": 1, "value": 1})]),
    ],
)  # fmt: skip
def test_diff_collection(old, new, events):
    assert diff_collection(old, new) == events
    assert apply(old, events) == new


def test_diff_collection_removes_descending_then_adds_ascending():
    rng = random.Random(7)
    for _ in range(300):
        old = [rng.randint(0, 5) for _ in range(rng.randint(0, 12))]
        new = [rng.randint(0, 5) for _ in range(rng.randint(0, 12))]
        events = diff_collection(old, new)
        assert apply(old, events) == new
        removes = [d["idx"] for n, d in events if n == "remove"]
        adds = [d["idx"] for n, d in events if n == "add"]
        assert removes == sorted(removes, reverse=True) and adds == sorted(adds)
        assert [n for n, _ in events] == ["remove"] * len(removes) + ["add"] * len(adds)
