"""Subscribe requests: access and get in parallel, resource sets, references, cycles and errors."""

from __future__ import annotations

import asyncio

import pytest

from tests.gateway.common import ACCESS_DENIED, NOT_FOUND, respond_get, serve, subscribe, value


def models(*rids: str) -> dict:
    return {rid: value(rid) for rid in rids}


RESOURCE_SETS = [
    ("test.model", {"models": models("test.model")}),
    ("test.model.parent", {"models": models("test.model.parent", "test.model")}),
    (
        "test.model.grandparent",
        {"models": models("test.model.grandparent", "test.model.parent", "test.model")},
    ),
    (
        "test.model.brokenchild",
        {"models": models("test.model.brokenchild"), "errors": {"test.err.notFound": NOT_FOUND}},
    ),
    ("test.model.soft", {"models": models("test.model.soft")}),
    (
        "test.model.data",
        {
            "models": {
                "test.model.data": {"name": "data", "primitive": 12, "object": {"data": {"foo": ["bar"]}}}
            }
        },
    ),
    ("test.m.a", {"models": models("test.m.a")}),
    ("test.m.b", {"models": models("test.m.b", "test.m.c")}),
    ("test.m.d", {"models": models("test.m.d", "test.m.e", "test.m.f")}),
    ("test.m.g", {"models": models("test.m.g", "test.m.e", "test.m.f", "test.m.d")}),
    ("test.collection", {"collections": {"test.collection": value("test.collection")}}),
    (
        "test.collection.parent",
        {"collections": {r: value(r) for r in ("test.collection.parent", "test.collection")}},
    ),
    ("test.collection.soft", {"collections": {"test.collection.soft": value("test.collection.soft")}}),
    (
        "test.collection.data",
        {"collections": {"test.collection.data": ["data", 12, {"data": {"foo": ["bar"]}}]}},
    ),
    ("test.c.a", {"collections": {"test.c.a": value("test.c.a")}}),
    ("test.c.b", {"collections": {r: value(r) for r in ("test.c.b", "test.c.c")}}),
]

ALL = [
    "test.model",
    "test.model.parent",
    "test.model.grandparent",
    "test.model.brokenchild",
    "test.model.soft",
    "test.model.data",
    "test.err.notFound",
    *[f"test.m.{x}" for x in "abcdefg"],
    "test.collection",
    "test.collection.parent",
    "test.collection.soft",
    "test.collection.data",
    "test.c.a",
    "test.c.b",
    "test.c.c",
]


@pytest.mark.parametrize(("rid", "expected"), RESOURCE_SETS)
async def test_subscribe_returns_resource_set(mem_client, mem_service, rid, expected):
    serve(mem_service, *ALL)
    assert await mem_client.send(f"subscribe.{rid}").result() == expected


@pytest.mark.parametrize(
    ("rid", "expected"),
    [
        ("test.model.soft", {"models": {"test.model.soft": {"name": "soft", "child": "test.model"}}}),
        (
            "test.model.data",
            {"models": {"test.model.data": {"name": "data", "primitive": 12, "object": "[Data]"}}},
        ),
        ("test.collection.soft", {"collections": {"test.collection.soft": ["soft", "test.collection"]}}),
        ("test.collection.data", {"collections": {"test.collection.data": ["data", 12, "[Data]"]}}),
    ],
)
async def test_subscribe_legacy_client_gets_legacy_values(mem_legacy_client, mem_service, rid, expected):
    serve(mem_service, *ALL)
    assert await mem_legacy_client.send(f"subscribe.{rid}").result() == expected


async def test_subscribe_sends_access_and_get_in_parallel(mem_client, mem_service):
    pending = mem_client.send("subscribe.test.model")
    reqs = await mem_service.get_requests(2)
    access, get = reqs.get("access.test.model"), reqs.get("get.test.model")
    assert access.data == {"cid": access.data["cid"], "token": None}
    assert get.data == {}
    await access.respond_access(get=True)
    await respond_get(get)
    assert await pending.result() == {"models": models("test.model")}


async def test_subscribe_waits_for_referenced_resources(mem_client, mem_service):
    assert await subscribe(mem_client, mem_service, "test.model.parent", "test.model") == {
        "models": models("test.model.parent", "test.model")
    }


@pytest.mark.parametrize(
    ("access", "get", "expected"),
    [
        ({"result": {"get": False}}, {"result": {"model": {}}}, ACCESS_DENIED),
        ({"result": {}}, {"result": {"model": {}}}, ACCESS_DENIED),
        ({"result": None}, {"result": {"model": {}}}, ACCESS_DENIED),
        ({"result": {"get": False}}, {"error": NOT_FOUND}, ACCESS_DENIED),
        ({"result": {"get": True}}, {"error": NOT_FOUND}, NOT_FOUND),
        ({"error": {"code": "custom.error", "message": "Custom"}}, {"result": {"model": {}}}, None),
        ({"result": {"get": "yes"}}, {"result": {"model": {}}}, "system.internalError"),
        ({"result": {"get": True}}, {"result": {"model": {}, "collection": []}}, "system.internalError"),
        ({"result": {"get": True}}, {"result": {}}, "system.internalError"),
        ({"result": {"get": True}}, {"result": {"model": {"a": [1]}}}, "system.internalError"),
        ({"result": {"get": True}}, {"result": {"collection": {}}}, "system.internalError"),
    ],
)
async def test_subscribe_errors(mem_client, mem_service, access, get, expected):
    pending = mem_client.send("subscribe.test.model")
    reqs = await mem_service.get_requests(2)
    await reqs.get("access.test.model").respond(access)
    await reqs.get("get.test.model").respond(get)
    error = await pending.error()
    if expected is None:
        assert error == access["error"]
    elif isinstance(expected, str):
        assert error["code"] == expected
    else:
        assert error == expected


async def test_subscribe_twice_returns_empty_set_without_requests(mem_client, mem_service):
    await subscribe(mem_client, mem_service, "test.model")
    assert await mem_client.send("subscribe.test.model").result() == {}
    await mem_service.assert_no_request()


async def test_second_client_gets_resource_from_cache(mem_client, mem_connect, mem_service):
    await subscribe(mem_client, mem_service, "test.model")
    other = await mem_connect()
    pending = other.send("subscribe.test.model")
    await (await mem_service.get_request("access.test.model")).respond_access(get=True)
    assert await pending.result() == {"models": models("test.model")}
    await mem_service.assert_no_request()


async def test_subscribers_of_pending_resource_share_one_get(mem_client, mem_connect, mem_service):
    other = await mem_connect()
    first = mem_client.send("subscribe.test.model")
    reqs = await mem_service.get_requests(2)
    second = other.send("subscribe.test.model")
    await (await mem_service.get_request("access.test.model")).respond_access(get=True)
    await reqs.get("access.test.model").respond_access(get=True)
    await respond_get(reqs.get("get.test.model"))
    assert await first.result() == await second.result() == {"models": models("test.model")}
    await mem_service.assert_no_request()


async def test_subscribers_of_pending_error_all_get_the_error(mem_client, mem_connect, mem_service):
    other = await mem_connect()
    first = mem_client.send("subscribe.test.model")
    reqs = await mem_service.get_requests(2)
    second = other.send("subscribe.test.model")
    await (await mem_service.get_request("access.test.model")).respond_access(get=True)
    await reqs.get("access.test.model").respond_access(get=True)
    await reqs.get("get.test.model").respond({"error": NOT_FOUND})
    assert await first.error() == await second.error() == NOT_FOUND


async def test_failed_get_is_not_cached(mem_client, mem_service):
    pending = mem_client.send("subscribe.test.model")
    reqs = await mem_service.get_requests(2)
    await reqs.get("access.test.model").respond_access(get=True)
    await reqs.get("get.test.model").respond({"error": NOT_FOUND})
    await pending.error("system.notFound")
    assert await subscribe(mem_client, mem_service, "test.model") == {"models": models("test.model")}


async def test_subscribe_with_cid_placeholder(mem_client, mem_service):
    pending = mem_client.send("subscribe.test.{cid}.model")
    reqs = await mem_service.get_requests(2)
    access = next(r for r in reqs.items if r.kind == "access")
    cid = access.data["cid"]
    assert access.subject == f"access.test.{cid}.model"
    await access.respond_access(get=True)
    await reqs.get(f"get.test.{cid}.model").respond_model({"id": cid})
    assert await pending.result() == {"models": {"test.{cid}.model": {"id": cid}}}


async def test_subscribe_long_rid_gives_subject_too_long(mem_client, mem_service):
    error = await mem_client.send("subscribe.test." + "a" * 5000).error()
    assert error == {"code": "system.subjectTooLong", "message": "Subject too long"}
    await mem_service.assert_no_request()


async def test_subscribe_unknown_resource_without_responders_is_not_found(mem_client):
    # Nobody listens on get.nobody.* or access.nobody.*: NATS answers "no responders" at once.
    assert await mem_client.send("subscribe.nobody.here").error() == NOT_FOUND


async def test_subscribe_reference_error_does_not_fail_request(mem_client, mem_service):
    result = await subscribe(mem_client, mem_service, "test.model.brokenchild", "test.err.notFound")
    assert result["errors"] == {"test.err.notFound": NOT_FOUND}


async def test_subscribe_shared_reference_is_sent_once(mem_client, mem_service):
    serve(mem_service, "test.model.parent", "test.model.secondparent", "test.model")
    await mem_client.send("subscribe.test.model.parent").result()
    assert await mem_client.send("subscribe.test.model.secondparent").result() == {
        "models": models("test.model.secondparent")
    }


async def test_subscribe_concurrently_from_many_clients(mem_connect, mem_service):
    serve(mem_service, "test.model.parent", "test.model")
    clients = [await mem_connect() for _ in range(5)]
    results = await asyncio.gather(*(c.send("subscribe.test.model.parent").result() for c in clients))
    assert all(r == {"models": models("test.model.parent", "test.model")} for r in results)


async def test_subscription_limit(mem_client, mem_service):
    serve(mem_service, "test.model")
    await asyncio.gather(*(mem_client.send("subscribe.test.model").result() for _ in range(256)))
    error = await mem_client.send("subscribe.test.model").error()
    assert error == {"code": "system.subscriptionLimitExceeded", "message": "Subscription limit exceeded"}
    await mem_client.request("unsubscribe.test.model", {"count": 256})
    await mem_client.send("unsubscribe.test.model").error("system.noSubscription")


async def test_reference_throttle_limits_parallel_gets(start_gateway, service, connect):
    gw = start_gateway(referenceThrottle=2)
    c = await connect(gw.ws_url)
    pending = c.send("subscribe.test.refs")
    reqs = await service.get_requests(2)
    await reqs.get("access.test.refs").respond_access(get=True)
    await reqs.get("get.test.refs").respond_collection([{"rid": f"test.ref.{n}"} for n in range(4)])
    first = await service.get_requests(2)
    await service.assert_no_request()
    await first.items[0].respond_model({})
    third = await service.get_request()
    await service.assert_no_request()
    await first.items[1].respond_model({})
    await third.respond_model({})
    await (await service.get_request()).respond_model({})
    result = await pending.result()
    assert set(result["models"]) == {f"test.ref.{n}" for n in range(4)}
