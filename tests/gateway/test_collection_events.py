"""Add and remove events on collections."""

from __future__ import annotations

import pytest

from tests.gateway.common import respond_get, subscribe, value

COLLECTION = value("test.collection")
DATA = ["data", 12, {"data": {"foo": ["bar"]}}]

EVENTS = [
    # (rid, event, payload, collection afterwards, event the client gets (None: same as sent, False: none))
    ("test.collection", "add", {"idx": 0, "value": "bar"}, ["bar", *COLLECTION], None),
    ("test.collection", "add", {"idx": 1, "value": "bar"}, ["foo", "bar", 42, True, None], None),
    ("test.collection", "add", {"idx": 4, "value": "bar"}, [*COLLECTION, "bar"], None),
    ("test.collection", "add", {"idx": 0, "value": {"rid": "test.x", "soft": True}},
     [{"rid": "test.x", "soft": True}, *COLLECTION], None),
    ("test.collection", "add", {"idx": 0, "value": {"data": {"foo": ["bar"]}}},
     [{"data": {"foo": ["bar"]}}, *COLLECTION], None),
    ("test.collection", "add", {"idx": 0, "value": {"data": 12}}, [12, *COLLECTION], {"idx": 0, "value": 12}),
    ("test.collection", "remove", {"idx": 0}, [42, True, None], None),
    ("test.collection", "remove", {"idx": 1}, ["foo", True, None], None),
    ("test.collection", "remove", {"idx": 3}, ["foo", 42, True], None),
    ("test.collection.soft", "remove", {"idx": 1}, ["soft"], None),
    ("test.collection.data", "remove", {"idx": 2}, ["data", 12], None),
    # Invalid events are dropped
    ("test.collection", "add", {"idx": 5, "value": "bar"}, COLLECTION, False),
    ("test.collection", "add", {"idx": -1, "value": "bar"}, COLLECTION, False),
    ("test.collection", "add", {"idx": "0", "value": "bar"}, COLLECTION, False),
    ("test.collection", "add", {"idx": 0}, COLLECTION, False),
    ("test.collection", "add", {"idx": 0, "value": [1]}, COLLECTION, False),
    ("test.collection", "add", {"idx": 0, "value": {"action": "delete"}}, COLLECTION, False),
    ("test.collection", "remove", {"idx": 4}, COLLECTION, False),
    ("test.collection", "remove", {"idx": -1}, COLLECTION, False),
    ("test.collection", "remove", {}, COLLECTION, False),
    ("test.collection", "change", {"values": {"foo": 1}}, COLLECTION, False),
]  # fmt: skip


@pytest.mark.parametrize(("rid", "event", "payload", "collection", "expected"), EVENTS)
async def test_collection_event(
    mem_client, mem_connect, mem_service, rid, event, payload, collection, expected
):
    await subscribe(mem_client, mem_service, rid)
    await mem_service.publish_event(rid, event, payload)
    if expected is False:
        await mem_client.assert_no_message()
    else:
        assert await mem_client.get_event() == {"event": f"{rid}.{event}", "data": expected or payload}
    other = await mem_connect()
    pending = other.send(f"subscribe.{rid}")
    await (await mem_service.get_request(f"access.{rid}")).respond_access(get=True)
    assert await pending.result() == {"collections": {rid: collection}}


async def test_add_on_model_is_dropped(mem_client, mem_service):
    await subscribe(mem_client, mem_service, "test.model")
    await mem_service.publish_add("test.model", "foo", 0)
    await mem_service.publish_remove("test.model", 0)
    await mem_client.assert_no_message()


async def test_add_event_with_reference_includes_resource(mem_client, mem_service):
    await subscribe(mem_client, mem_service, "test.collection")
    await mem_service.publish_add("test.collection", {"rid": "test.model"}, 1)
    await respond_get(await mem_service.get_request("get.test.model"))
    assert await mem_client.get_event() == {
        "event": "test.collection.add",
        "data": {"idx": 1, "value": {"rid": "test.model"}, "models": {"test.model": value("test.model")}},
    }


async def test_add_then_remove_of_reference(mem_client, mem_service):
    await subscribe(mem_client, mem_service, "test.collection")
    await mem_service.publish_add("test.collection", {"rid": "test.model"}, 0)
    await respond_get(await mem_service.get_request("get.test.model"))
    await mem_client.get_event("test.collection.add")
    await mem_service.publish_remove("test.collection", 0)
    assert await mem_client.get_event() == {"event": "test.collection.remove", "data": {"idx": 0}}
    await mem_service.publish_change("test.model", {"string": "bar"})
    await mem_client.assert_no_message()
    # Added again: the client has forgotten it, so it is sent again
    await mem_service.publish_add("test.collection", {"rid": "test.model"}, 0)
    await respond_get(await mem_service.get_request("get.test.model"))
    event = await mem_client.get_event("test.collection.add")
    assert event["data"]["models"] == {"test.model": value("test.model")}


async def test_events_wait_for_reference_to_load(mem_client, mem_service):
    await subscribe(mem_client, mem_service, "test.collection")
    await mem_service.publish_add("test.collection", {"rid": "test.model"}, 0)
    get = await mem_service.get_request("get.test.model")
    await mem_service.publish_add("test.collection", "after", 1)
    await mem_client.assert_no_message()
    await respond_get(get)
    assert (await mem_client.get_event("test.collection.add"))["data"]["idx"] == 0
    assert (await mem_client.get_event("test.collection.add"))["data"] == {"idx": 1, "value": "after"}


async def test_held_event_does_not_block_other_resources(mem_client, mem_service):
    await subscribe(mem_client, mem_service, "test.collection")
    await subscribe(mem_client, mem_service, "test.model")
    await mem_service.publish_add("test.collection", {"rid": "test.model.parent"}, 0)
    get = await mem_service.get_request("get.test.model.parent")
    await mem_service.publish_change("test.model", {"string": "bar"})
    assert (await mem_client.get_event())["event"] == "test.model.change"
    await respond_get(get)
    event = await mem_client.get_event("test.collection.add")
    assert event["data"]["models"] == {"test.model.parent": value("test.model.parent")}


@pytest.mark.parametrize("version", [None, "1.2.0"])
async def test_legacy_clients_get_added_soft_references_and_data_as_strings(
    mem_connect, mem_service, version
):
    c = await mem_connect(version=version)
    await subscribe(c, mem_service, "test.collection")
    await mem_service.publish_add("test.collection", {"rid": "test.x", "soft": True}, 0)
    await mem_service.publish_add("test.collection", {"data": [1]}, 0)
    assert (await c.get_event())["data"] == {"idx": 0, "value": "test.x"}
    assert (await c.get_event())["data"] == {"idx": 0, "value": "[Data]"}


@pytest.mark.parametrize("attempt", range(5))
async def test_reset_racing_a_reference_keeps_client_consistent(mem_connect, mem_service, attempt):
    """resgate's TestBug_PossibleClientResourceInconsistency: reset diff vs. a new reference."""
    c1, c2 = await mem_connect(), await mem_connect()
    pending = c1.send("subscribe.test.collection")
    reqs = await mem_service.get_requests(2)
    await reqs.get("access.test.collection").respond_access(get=True)
    await reqs.get("get.test.collection").respond_collection([1, 2, 3])
    await pending.result()
    await subscribe(c2, mem_service, "test.model")
    await mem_service.publish_reset(resources=["test.collection"])
    await mem_service.publish_change("test.model", {"ref": {"rid": "test.collection"}})
    await (await mem_service.get_request("get.test.collection")).respond_collection([1, 2, 3, 4])
    event = await c2.get_event("test.model.change")
    collection = event["data"]["collections"]["test.collection"]
    if collection == [1, 2, 3]:
        assert await c2.get_event() == {"event": "test.collection.add", "data": {"idx": 3, "value": 4}}
    else:
        assert collection == [1, 2, 3, 4]
    await c2.assert_no_message()
    assert await c1.get_event() == {"event": "test.collection.add", "data": {"idx": 3, "value": 4}}
