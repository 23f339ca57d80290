"""system.reset: cached resources fetched again and diffed into events; access checked again."""

from __future__ import annotations

import pytest

from res_gateway.cache.event_subscription import REFETCHES
from tests.gateway.common import ACCESS_DENIED, respond_get, subscribe, value
from tests.gateway.inprocess import REQUEST_TIMEOUT

RESETS = [
    ("test.model", {"model": value("test.model")}, []),
    ("test.model", {"model": {"string": "bar", "int": 42, "bool": True}},
     [("change", {"values": {"string": "bar", "null": {"action": "delete"}}})]),
    ("test.model", {"model": {**value("test.model"), "child": {"rid": "test.model", "soft": True}}},
     [("change", {"values": {"child": {"rid": "test.model", "soft": True}}})]),
    ("test.model.soft", {"model": {"name": "soft", "child": None}},
     [("change", {"values": {"child": None}})]),
    ("test.collection", {"collection": ["foo", 42, True, None]}, []),
    ("test.collection", {"collection": [42, "new", True, None]},
     [("remove", {"idx": 0}), ("add", {"idx": 1, "value": "new"})]),
    ("test.collection", {"collection": ["foo", 42, True, None, {"rid": "test.model", "soft": True}]},
     [("add", {"idx": 4, "value": {"rid": "test.model", "soft": True}})]),
    ("test.collection", {"collection": ["a", "b"]},
     [("remove", {"idx": 3}), ("remove", {"idx": 2}), ("remove", {"idx": 1}), ("remove", {"idx": 0}),
      ("add", {"idx": 0, "value": "a"}), ("add", {"idx": 1, "value": "b"})]),
    ("test.collection", {"collection": [True, "foo", None]},
     [("remove", {"idx": 1}), ("remove", {"idx": 0}), ("add", {"idx": 1, "value": "foo"})]),
    ("test.collection.soft", {"collection": ["soft"]}, [("remove", {"idx": 1})]),
]  # fmt: skip


@pytest.mark.parametrize(("rid", "response", "events"), RESETS)
async def test_reset_turns_differences_into_events(mem_client, mem_service, rid, response, events):
    await subscribe(mem_client, mem_service, rid)
    await mem_service.publish_reset(resources=["test.>"])
    await (await mem_service.get_request(f"get.{rid}")).respond_result(response)
    for name, data in events:
        assert await mem_client.get_event() == {"event": f"{rid}.{name}", "data": data}
    await mem_client.assert_no_message()


@pytest.mark.parametrize("patterns", [["test.model"], ["test.*"], ["test.>"], [">"], ["x.y", "test.model"]])
async def test_reset_patterns_matching(mem_client, mem_service, patterns):
    await subscribe(mem_client, mem_service, "test.model")
    await mem_service.publish_reset(resources=patterns)
    await respond_get(await mem_service.get_request("get.test.model"))


@pytest.mark.parametrize(
    "patterns", [["test"], ["test.model.>"], ["test.*.x"], ["other.>"], ["test.>.x"], []]
)
async def test_reset_patterns_not_matching(mem_client, mem_service, patterns):
    await subscribe(mem_client, mem_service, "test.model")
    await mem_service.publish_reset(resources=patterns)
    await mem_service.assert_no_request()


@pytest.mark.parametrize("rid", ["test.model", "test.collection"])
async def test_reset_not_found_deletes(mem_client, mem_service, rid):
    await subscribe(mem_client, mem_service, rid)
    await mem_service.publish_reset(resources=[rid])
    await (await mem_service.get_request(f"get.{rid}")).respond_error("system.notFound", "Not found")
    assert await mem_client.get_event() == {"event": f"{rid}.delete", "data": None}
    assert await mem_client.get_event() == {
        "event": f"{rid}.unsubscribe",
        "data": {"reason": {"code": "system.deleted", "message": "Deleted"}},
    }


@pytest.mark.parametrize(
    ("rid", "response"),
    [
        ("test.model", {"error": {"code": "system.internalError", "message": "Internal error"}}),
        ("test.collection", {"error": {"code": "system.internalError", "message": "Internal error"}}),
        ("test.model", {"result": {"collection": ["foo"]}}),
        ("test.collection", {"result": {"model": {"foo": "bar"}}}),
        ("test.model", None),
    ],
)
async def test_reset_error_keeps_cache(mem_client, mem_connect, mem_service, rid, response):
    await subscribe(mem_client, mem_service, rid)
    await mem_service.publish_reset(resources=[rid])
    req = await mem_service.get_request(f"get.{rid}")
    if response is not None:
        await req.respond(response)
    await mem_client.assert_no_message(REQUEST_TIMEOUT * 1.2 if response is None else None)
    other = await mem_connect()
    pending = other.send(f"subscribe.{rid}")
    await (await mem_service.get_request(f"access.{rid}")).respond_access(get=True)
    kind = "models" if rid == "test.model" else "collections"
    assert await pending.result() == {kind: {rid: value(rid)}}


async def test_events_during_reset_get_are_dropped_and_fetched_again(mem_client, mem_service):
    await subscribe(mem_client, mem_service, "test.model")
    await mem_service.publish_reset(resources=["test.model"])
    req = await mem_service.get_request("get.test.model")
    await mem_service.publish_change("test.model", {"string": "during"})
    await req.respond_model({**value("test.model"), "string": "after"})
    assert await mem_client.get_event() == {
        "event": "test.model.change",
        "data": {"values": {"string": "after"}},
    }
    await (await mem_service.get_request("get.test.model")).respond_model(
        {**value("test.model"), "string": "after"}
    )
    await mem_service.assert_no_request()
    await mem_client.assert_no_message()


async def test_event_from_another_instance_during_reset_get_reaches_clients_once(mem_client, mem_service):
    """One instance commits and sends add; another answered the reset get from the state before."""
    rid = "test.collection"
    before, after = value(rid), [*value(rid), "row"]
    await subscribe(mem_client, mem_service, rid)
    await mem_service.publish_reset(resources=[rid])
    stale = await mem_service.get_request(f"get.{rid}")
    await mem_service.publish_add(rid, "row", len(before))
    await stale.respond_collection(before)
    await (await mem_service.get_request(f"get.{rid}")).respond_collection(after)
    assert await mem_client.get_event() == {
        "event": f"{rid}.add",
        "data": {"idx": len(before), "value": "row"},
    }
    await mem_service.assert_no_request()
    await mem_client.assert_no_message()


async def test_refetching_is_bounded_while_events_keep_coming(mem_client, mem_service):
    rid = "test.collection"
    await subscribe(mem_client, mem_service, rid)
    await mem_service.publish_reset(resources=[rid])
    collection = value(rid)
    for n in range(REFETCHES + 1):
        req = await mem_service.get_request(f"get.{rid}")
        await mem_service.publish_add(rid, n, len(collection))
        await req.respond_collection(collection)
    await mem_service.assert_no_request()
    await mem_client.assert_no_message()


async def test_reset_of_uncached_resource_sends_nothing(mem_client, mem_service):
    await mem_service.publish_reset(resources=["test.>"])
    await mem_service.assert_no_request()


async def test_reset_brings_new_references(mem_client, mem_service):
    await subscribe(mem_client, mem_service, "test.model")
    await mem_service.publish_reset(resources=["test.model"])
    await (await mem_service.get_request("get.test.model")).respond_model(
        {**value("test.model"), "ref": {"rid": "test.collection"}}
    )
    await respond_get(await mem_service.get_request("get.test.collection"))
    assert await mem_client.get_event() == {
        "event": "test.model.change",
        "data": {
            "values": {"ref": {"rid": "test.collection"}},
            "collections": {"test.collection": value("test.collection")},
        },
    }


async def test_access_reset_rechecks_direct_subscriptions(mem_client, mem_service):
    await subscribe(mem_client, mem_service, "test.model.parent", "test.model")
    await subscribe(mem_client, mem_service, "test.collection")
    await mem_service.publish_reset(access=["test.>"])
    reqs = await mem_service.get_requests(2)
    await reqs.get("access.test.model.parent").respond_access(get=True)
    await reqs.get("access.test.collection").respond_access(get=False)
    assert await mem_client.get_event() == {
        "event": "test.collection.unsubscribe",
        "data": {"reason": ACCESS_DENIED},
    }
    await mem_service.assert_no_request()
    await mem_service.publish_event("test.model.parent", "custom", {"a": 1})
    assert (await mem_client.get_event())["event"] == "test.model.parent.custom"


async def test_reset_throttle_limits_parallel_gets(start_gateway, service, connect):
    gw = start_gateway(resetThrottle=2)
    c = await connect(gw.ws_url)
    rids = ["test.model", "test.collection", "test.model.soft", "test.collection.soft"]
    for rid in rids:
        await subscribe(c, service, rid)
    await service.publish_reset(resources=["test.>"])
    first = await service.get_requests(2)
    await service.assert_no_request()
    await respond_get(first.items[0])
    third = await service.get_request()
    await service.assert_no_request()
    await respond_get(first.items[1])
    fourth = await service.get_request()
    for req in (third, fourth):
        await respond_get(req)
    assert {r.subject for r in [*first.items, third, fourth]} == {f"get.{rid}" for rid in rids}
