"""Reads of resources the cache holds: no get, the same response as the first read, access every time."""

from __future__ import annotations

import itertools
from collections import Counter
from typing import Any

import pytest

from res_protocol import errors

from .conftest import FLAT, assert_error

_names = itertools.count()
#: The tests' gateways evict a resource with its last subscriber; these keep it cached between reads.
CACHED = {"unsubscribeDelay": 30}


def tree(service: Any, seen: Counter[str], access: dict[str, Any]) -> str:
    """A fresh model with a child model and a collection (never cached before); its URL path."""
    name = f"test.fast{next(_names)}"
    values = {
        name: {
            "model": {"title": "root", "child": {"rid": f"{name}.child"}, "list": {"rid": f"{name}.list"}}
        },
        f"{name}.child": {"model": {"n": 1, "back": {"rid": name}, "soft": {"rid": name, "soft": True}}},
        f"{name}.list": {"collection": ["a", {"data": {"x": [1]}}, {"rid": f"{name}.child"}]},
    }
    for rid, result in values.items():

        async def get(req: Any, result: dict[str, Any] = result) -> None:
            seen[req.subject] += 1
            await req.respond_result(result)

        async def grant(req: Any) -> None:
            seen[req.subject] += 1
            await req.respond(access)

        service.auto(f"get.{rid}", get)
        service.auto(f"access.{rid}", grant)
    return "/api/" + name.replace(".", "/")


def headers(response: Any) -> list[tuple[str, str]]:
    return [(k, v) for k, v in response.headers.multi_items() if k != "date"]


@pytest.mark.parametrize("config", [{}, FLAT], ids=["json", "jsonflat"])
async def test_a_cached_tree_reads_as_the_first_read(http, service, config):
    seen: Counter[str] = Counter()
    path = tree(service, seen, {"result": {"get": True}})
    client = http(**CACHED, **config)
    first = await client.get(path, headers={"Origin": "http://example.com"})
    assert first.status_code == 200, first.text
    for _ in range(3):
        again = await client.get(path, headers={"Origin": "http://example.com"})
        assert (again.status_code, headers(again), again.content) == (200, headers(first), first.content)
    head = await client.head(path)
    assert (head.status_code, head.content) == (200, b"")
    assert head.headers["content-length"] == first.headers["content-length"]
    name = path.removeprefix("/api/").replace("/", ".")
    assert seen[f"get.{name}"] == seen[f"get.{name}.child"] == seen[f"get.{name}.list"] == 1
    assert seen[f"access.{name}"] == 5  # access is asked on every read, only for the root


async def test_a_cached_tree_follows_events(http, service):
    seen: Counter[str] = Counter()
    path = tree(service, seen, {"result": {"get": True}})
    client = http(**CACHED)
    for _ in range(3):  # the first read loads the tree, the others are answered from the cache
        assert (await client.get(path)).json()["child"]["model"]["n"] == 1
    name = path.removeprefix("/api/").replace("/", ".")
    await service.publish_change(f"{name}.child", {"n": 2})
    for _ in range(2):
        assert (await client.get(path)).json()["child"]["model"]["n"] == 2
    assert seen[f"get.{name}.child"] == 1


@pytest.mark.parametrize(
    ("access", "status", "code"),
    [
        ({"result": {"get": False}}, 401, errors.CODE_ACCESS_DENIED),
        ({"error": {"code": errors.CODE_ACCESS_DENIED, "message": "No"}}, 401, errors.CODE_ACCESS_DENIED),
        ({"error": {"code": errors.CODE_NOT_FOUND, "message": "Gone"}}, 404, errors.CODE_NOT_FOUND),
        ({"result": None}, 500, errors.CODE_INTERNAL_ERROR),
    ],
)
async def test_a_cached_tree_is_read_only_with_access(http, service, access, status, code):
    seen: Counter[str] = Counter()
    granted = {"result": {"get": True}}
    path = tree(service, seen, granted)
    client = http(**CACHED)
    assert (await client.get(path)).status_code == 200
    name = path.removeprefix("/api/").replace("/", ".")

    async def answer(req: Any) -> None:
        await req.respond(access)

    service.auto(f"access.{name}", answer)
    denied = await client.get(path)
    assert_error(denied, status, code)
    assert denied.headers["access-control-allow-origin"] == "*"


async def test_access_meta_applies_to_a_cached_tree(http, service):
    seen: Counter[str] = Counter()
    path = tree(service, seen, {"result": {"get": True}, "meta": {"header": {"X-Fast": ["1", "2"]}}})
    client = http(**CACHED)
    first = await client.get(path)
    second = await client.get(path)
    assert first.headers.get_list("x-fast") == second.headers.get_list("x-fast") == ["1", "2"]
    name = path.removeprefix("/api/").replace("/", ".")
    assert seen[f"get.{name}"] == 1

    async def moved(req: Any) -> None:
        await req.respond({"result": {"get": True}, "meta": {"status": 302, "header": {"Location": ["/x"]}}})

    service.auto(f"access.{name}", moved)
    redirect = await client.get(path, follow_redirects=False)
    assert (redirect.status_code, redirect.headers["location"], redirect.content) == (302, "/x", b"")


async def test_events_sent_before_the_access_reply_are_in_the_read(http, service):
    seen: Counter[str] = Counter()
    path = tree(service, seen, {"result": {"get": True}})
    name = path.removeprefix("/api/").replace("/", ".")
    client = http(**CACHED)
    assert (await client.get(path)).status_code == 200
    service.auto(f"get.{name}.new", {"result": {"model": {"fresh": True}}})

    async def change_then_grant(req: Any) -> None:
        await service.publish_change(f"{name}.child", {"n": 3})
        await service.publish_change(name, {"extra": {"rid": f"{name}.new"}})  # not cached yet
        await req.respond({"result": {"get": True}})

    service.auto(f"access.{name}", change_then_grant)
    body = (await client.get(path)).json()
    assert body["child"]["model"]["n"] == 3
    assert body["extra"] == {"href": path + "/new", "model": {"fresh": True}}


async def test_each_cached_read_asks_access_as_a_fresh_connection(http, service):
    path = tree(service, Counter(), {"result": {"get": True}})
    name = path.removeprefix("/api/").replace("/", ".")
    asked: list[dict[str, Any]] = []

    async def grant(req: Any) -> None:
        asked.append(req.data)
        await req.respond({"result": {"get": True}})

    service.auto(f"access.{name}", grant)
    client = http(**CACHED)
    for _ in range(3):
        assert (await client.get(path)).status_code == 200
    assert [data["token"] for data in asked] == [None] * 3
    assert [data["isHttp"] for data in asked] == [True] * 3
    assert len({data["cid"] for data in asked}) == 3
