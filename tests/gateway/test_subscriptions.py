"""Unsubscribe, get, delete events and the client's reference bookkeeping (cycles, "sent" state)."""

from __future__ import annotations

import pytest

from tests.gateway.common import NOT_FOUND, respond_get, serve, subscribe, value

EVENT = {"foo": "bar"}
DELETED = {"reason": {"code": "system.deleted", "message": "Deleted"}}


async def assert_subscribed(mem_client, mem_service, *rids: str) -> None:
    for rid in rids:
        await mem_service.publish_event(rid, "custom", EVENT)
        assert await mem_client.get_event() == {"event": f"{rid}.custom", "data": EVENT}


async def assert_not_subscribed(mem_client, mem_service, *rids: str) -> None:
    for rid in rids:
        await mem_service.publish_event(rid, "custom", EVENT)
    await mem_client.assert_no_message()


# --- unsubscribe ------------------------------------------------------------------------------------


async def test_unsubscribe(mem_client, mem_service):
    await subscribe(mem_client, mem_service, "test.model")
    assert await mem_client.request("unsubscribe.test.model") == {"id": mem_client._next_id - 1}
    await assert_not_subscribed(mem_client, mem_service, "test.model")


async def test_unsubscribe_without_subscription(mem_client):
    err = await mem_client.send("unsubscribe.test.model").error()
    assert err == {"code": "system.noSubscription", "message": "No subscription"}


async def test_unsubscribe_referencing_resource_unsubscribes_reference(mem_client, mem_service):
    await subscribe(mem_client, mem_service, "test.model.parent", "test.model")
    await mem_client.request("unsubscribe.test.model.parent")
    await assert_not_subscribed(mem_client, mem_service, "test.model.parent", "test.model")


async def test_unsubscribe_overlapping_references(mem_client, mem_service):
    serve(mem_service, "test.model.parent", "test.model.secondparent", "test.model")
    await mem_client.send("subscribe.test.model.parent").result()
    await mem_client.send("subscribe.test.model.secondparent").result()
    await mem_client.request("unsubscribe.test.model.parent")
    await assert_subscribed(mem_client, mem_service, "test.model.secondparent", "test.model")
    await assert_not_subscribed(mem_client, mem_service, "test.model.parent")


async def test_indirect_reference_needs_no_unsubscribe(mem_client, mem_service):
    await subscribe(mem_client, mem_service, "test.model.parent", "test.model")
    await mem_client.send("unsubscribe.test.model").error("system.noSubscription")


async def test_unsubscribe_count(mem_client, mem_service):
    serve(mem_service, "test.model")
    for _ in range(3):
        await mem_client.send("subscribe.test.model").result()
    assert await mem_client.request("unsubscribe.test.model", {"count": 2}) == {"id": mem_client._next_id - 1}
    await assert_subscribed(mem_client, mem_service, "test.model")
    await mem_client.request("unsubscribe.test.model", {"count": 1})
    await assert_not_subscribed(mem_client, mem_service, "test.model")


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ([], "system.invalidParams"),
        ({"count": "foo"}, "system.invalidParams"),
        ({"count": True}, "system.invalidParams"),
        ({"count": 0}, "system.invalidParams"),
        ({"count": -1}, "system.invalidParams"),
        ({"count": 1.5}, "system.invalidParams"),
        ({"count": 2}, "system.noSubscription"),
    ],
)
async def test_unsubscribe_with_invalid_params_keeps_subscription(mem_client, mem_service, params, code):
    await subscribe(mem_client, mem_service, "test.model")
    await mem_client.send("unsubscribe.test.model", params).error(code)
    await assert_subscribed(mem_client, mem_service, "test.model")


async def test_unsubscribed_resource_is_sent_again_in_resource_response(mem_client, mem_service):
    await subscribe(mem_client, mem_service, "test.model")
    await mem_client.request("unsubscribe.test.model")
    pending = mem_client.send("call.test.collection.create")
    await (await mem_service.get_request("access.test.collection")).respond_access(call="*")
    await (await mem_service.get_request("call.test.collection.create")).respond_resource("test.model")
    reqs = await mem_service.get_requests(2)
    await respond_get(reqs.get("get.test.model"))
    await reqs.get("access.test.model").respond_access(get=True)
    assert await pending.result() == {"rid": "test.model", "models": {"test.model": value("test.model")}}


# --- get --------------------------------------------------------------------------------------------


async def test_get_returns_resources_without_subscribing(mem_client, mem_service):
    pending = mem_client.send("get.test.model.parent")
    reqs = await mem_service.get_requests(2)
    await reqs.get("access.test.model.parent").respond_access(get=True)
    await respond_get(reqs.get("get.test.model.parent"))
    await respond_get(await mem_service.get_request("get.test.model"))
    assert await pending.result() == {
        "models": {"test.model.parent": value("test.model.parent"), "test.model": value("test.model")}
    }
    await assert_not_subscribed(mem_client, mem_service, "test.model.parent", "test.model")
    await mem_client.send("unsubscribe.test.model.parent").error("system.noSubscription")


async def test_get_of_subscribed_resource_returns_nothing_new(mem_client, mem_service):
    await subscribe(mem_client, mem_service, "test.model")
    pending = mem_client.send("get.test.model")
    assert await pending.result() == {}
    await assert_subscribed(mem_client, mem_service, "test.model")


async def test_get_with_cid_placeholder(mem_client, mem_service):
    pending = mem_client.send("get.test.{cid}.model")
    reqs = await mem_service.get_requests(2)
    cid = next(r for r in reqs.items if r.kind == "access").data["cid"]
    await reqs.get(f"access.test.{cid}.model").respond_access(get=True)
    await reqs.get(f"get.test.{cid}.model").respond_model({"a": 1})
    assert await pending.result() == {"models": {"test.{cid}.model": {"a": 1}}}


async def test_get_long_rid_gives_subject_too_long(mem_client):
    assert (await mem_client.send("get.test." + "a" * 5000).error())["code"] == "system.subjectTooLong"


# --- delete events ----------------------------------------------------------------------------------


@pytest.mark.parametrize("rid", ["test.model", "test.collection"])
async def test_delete_event_is_followed_by_unsubscribe(mem_client, mem_service, rid):
    await subscribe(mem_client, mem_service, rid)
    await mem_service.publish_event(rid, "delete")
    assert await mem_client.get_event() == {"event": f"{rid}.delete", "data": None}
    assert await mem_client.get_event() == {"event": f"{rid}.unsubscribe", "data": DELETED}
    await assert_not_subscribed(mem_client, mem_service, rid)
    await mem_client.send(f"unsubscribe.{rid}").error("system.noSubscription")


async def test_delete_event_on_indirect_resource_sends_no_unsubscribe(mem_client, mem_service):
    await subscribe(mem_client, mem_service, "test.model.parent", "test.model")
    await mem_service.publish_event("test.model", "delete")
    assert await mem_client.get_event() == {"event": "test.model.delete", "data": None}
    await mem_client.assert_no_message()


async def test_delete_event_before_get_response_is_discarded(mem_client, mem_service):
    pending = mem_client.send("subscribe.test.model")
    reqs = await mem_service.get_requests(2)
    await mem_service.publish_event("test.model", "delete")
    await reqs.get("access.test.model").respond_access(get=True)
    await respond_get(reqs.get("get.test.model"))
    assert await pending.result() == {"models": {"test.model": value("test.model")}}
    await mem_client.assert_no_message()


async def test_deleted_resource_is_not_cached(mem_client, mem_connect, mem_service):
    await subscribe(mem_client, mem_service, "test.model")
    await mem_service.publish_event("test.model", "delete")
    await mem_client.get_event("test.model.delete")
    await mem_client.get_event("test.model.unsubscribe")
    other = await mem_connect()
    pending = other.send("subscribe.test.model")
    reqs = await mem_service.get_requests(2)
    await reqs.get("access.test.model").respond_access(get=True)
    await reqs.get("get.test.model").respond({"error": NOT_FOUND})
    assert await pending.error() == NOT_FOUND


async def test_resubscribe_after_delete_fetches_again(mem_client, mem_service):
    await subscribe(mem_client, mem_service, "test.model")
    await mem_service.publish_event("test.model", "delete")
    await mem_client.get_event("test.model.delete")
    await mem_client.get_event("test.model.unsubscribe")
    assert await subscribe(mem_client, mem_service, "test.model") == {
        "models": {"test.model": value("test.model")}
    }


# --- reference bookkeeping --------------------------------------------------------------------------


@pytest.mark.parametrize("rid", ["test.m.a", "test.m.b", "test.m.d", "test.c.b"])
async def test_unsubscribed_cycles_are_collected(mem_client, mem_service, rid):
    serve(mem_service, *[f"test.m.{x}" for x in "abcdef"], "test.c.b", "test.c.c")
    await mem_client.send(f"subscribe.{rid}").result()
    await mem_client.request(f"unsubscribe.{rid}")
    await assert_not_subscribed(mem_client, mem_service, rid, "test.m.e", "test.c.c")


async def test_cycle_reached_from_other_entry_point_stays(mem_client, mem_service):
    serve(mem_service, *[f"test.m.{x}" for x in "defg"])
    await mem_client.send("subscribe.test.m.d").result()
    assert await mem_client.send("subscribe.test.m.g").result() == {"models": {"test.m.g": value("test.m.g")}}
    await mem_client.request("unsubscribe.test.m.d")
    await assert_subscribed(mem_client, mem_service, "test.m.d", "test.m.e", "test.m.f", "test.m.g")


async def test_forgotten_resource_is_sent_again_to_loading_parent(mem_client, mem_service):
    """Issue #241: a resource held only by a parent still loading is no longer sent."""
    await subscribe(mem_client, mem_service, "test.model.parent", "test.model")
    pending = mem_client.send("subscribe.test.loading")
    reqs = await mem_service.get_requests(2)
    await reqs.get("access.test.loading").respond_access(get=True)
    await reqs.get("get.test.loading").respond_model(
        {"b": {"rid": "test.model"}, "slow": {"rid": "test.slow"}}
    )
    slow = await mem_service.get_request("get.test.slow")
    await mem_client.request("unsubscribe.test.model.parent")
    await slow.respond_model({"x": 1})
    assert await pending.result() == {
        "models": {
            "test.loading": {"b": {"rid": "test.model"}, "slow": {"rid": "test.slow"}},
            "test.model": value("test.model"),
            "test.slow": {"x": 1},
        }
    }


async def test_resource_kept_by_sent_parent_stays_sent(mem_client, mem_service):
    await subscribe(mem_client, mem_service, "test.model")
    serve(mem_service, "test.model.parent")
    await mem_client.send("subscribe.test.model.parent").result()
    await mem_client.request("unsubscribe.test.model")
    await mem_service.publish_change("test.model.parent", {"other": {"rid": "test.model"}})
    assert await mem_client.get_event() == {
        "event": "test.model.parent.change",
        "data": {"values": {"other": {"rid": "test.model"}}},
    }


async def test_indirectly_subscribed_then_directly_unsubscribed_and_released(mem_client, mem_service):
    await subscribe(mem_client, mem_service, "test.model")
    pending = mem_client.send("subscribe.test.parent")
    reqs = await mem_service.get_requests(2)
    await reqs.get("access.test.parent").respond_access(get=True)
    await reqs.get("get.test.parent").respond_model({"child": None})
    await pending.result()
    await mem_service.publish_change("test.parent", {"child": {"rid": "test.model"}})
    assert (await mem_client.get_event())["data"] == {"values": {"child": {"rid": "test.model"}}}
    await mem_client.request("unsubscribe.test.model")
    await mem_service.publish_change("test.parent", {"child": None})
    assert (await mem_client.get_event())["data"] == {"values": {"child": None}}
    await assert_not_subscribed(mem_client, mem_service, "test.model")
    # Referenced again: fetched and sent again
    await mem_service.publish_change("test.parent", {"child": {"rid": "test.model"}})
    await respond_get(await mem_service.get_request("get.test.model"))
    assert (await mem_client.get_event())["data"]["models"] == {"test.model": value("test.model")}


async def test_closing_connection_releases_cache(mem_client, mem_connect, mem_service):
    await subscribe(mem_client, mem_service, "test.model")
    await mem_client.close()
    other = await mem_connect()
    assert await subscribe(other, mem_service, "test.model") == {
        "models": {"test.model": value("test.model")}
    }
