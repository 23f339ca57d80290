"""Change events on models: what reaches clients, what the cache keeps, references they bring."""

from __future__ import annotations

import pytest

from tests.gateway.common import respond_get, subscribe, value

MODEL = value("test.model")
DATA = {"name": "data", "primitive": 12, "object": {"data": {"foo": ["bar"]}}}
SOFT = {"name": "soft", "child": {"rid": "test.model", "soft": True}}

CHANGES = [
    # (rid, change payload, event the client gets (None: none), model afterwards)
    ("test.model", {"values": {"string": "bar", "int": -12}}, {"values": {"string": "bar", "int": -12}},
     {**MODEL, "string": "bar", "int": -12}),
    ("test.model", {"values": {"new": False}}, {"values": {"new": False}}, {**MODEL, "new": False}),
    ("test.model", {"values": {"int": {"action": "delete"}}}, {"values": {"int": {"action": "delete"}}},
     {"string": "foo", "bool": True, "null": None}),
    ("test.model", {"values": {"soft": {"rid": "test.model.soft", "soft": True}}},
     {"values": {"soft": {"rid": "test.model.soft", "soft": True}}},
     {**MODEL, "soft": {"rid": "test.model.soft", "soft": True}}),
    ("test.model", {"values": {"int": 42.5}}, {"values": {"int": 42.5}}, {**MODEL, "int": 42.5}),
    ("test.model", {"values": {"bool": 1}}, {"values": {"bool": 1}}, {**MODEL, "bool": 1}),
    ("test.model.soft", {"values": {"child": None}}, {"values": {"child": None}},
     {"name": "soft", "child": None}),
    ("test.model.soft", {"values": {"child": {"action": "delete"}}},
     {"values": {"child": {"action": "delete"}}}, {"name": "soft"}),
    ("test.model.data", {"values": {"primitive": {"data": 13}}}, {"values": {"primitive": 13}},
     {**DATA, "primitive": 13}),
    ("test.model.data", {"values": {"object": {"data": {"foo": ["baz"]}}}},
     {"values": {"object": {"data": {"foo": ["baz"]}}}}, {**DATA, "object": {"data": {"foo": ["baz"]}}}),
    # Nothing changes: no event
    ("test.model", {"values": {}}, None, MODEL),
    ("test.model", {"values": {"string": "foo"}}, None, MODEL),
    ("test.model", {"values": {"string": "foo", "int": 42}}, None, MODEL),
    ("test.model", {"values": {"invalid": {"action": "delete"}}}, None, MODEL),
    ("test.model", {"values": {"null": {"data": None}}}, None, MODEL),
    ("test.model", {"values": {"null": None, "string": "bar"}}, {"values": {"string": "bar"}},
     {**MODEL, "string": "bar"}),
    ("test.model.soft", {"values": {"child": {"rid": "test.model", "soft": True}}}, None, SOFT),
    ("test.model.data", {"values": {"primitive": 12, "object": {"data": {"foo": ["bar"]}}}}, None, DATA),
    # Invalid events are dropped
    ("test.model", {"values": {"string": [1]}}, None, MODEL),
    ("test.model", {"values": {"string": {"foo": 1}}}, None, MODEL),
    ("test.model", {"values": {"ref": {"rid": "invalid..rid"}}}, None, MODEL),
    ("test.model", ["not", "an", "object"], None, MODEL),
    # v1.0 change events without the values wrapper
    ("test.model", {"string": "bar", "int": -12}, {"values": {"string": "bar", "int": -12}},
     {**MODEL, "string": "bar", "int": -12}),
]  # fmt: skip


@pytest.mark.parametrize(("rid", "payload", "expected", "model"), CHANGES)
async def test_change_event(mem_client, mem_connect, mem_service, rid, payload, expected, model):
    await subscribe(mem_client, mem_service, rid)
    await mem_service.publish_event(rid, "change", payload)
    if expected is None:
        await mem_client.assert_no_message()
    else:
        assert await mem_client.get_event() == {"event": f"{rid}.change", "data": expected}
    other = await mem_connect()
    pending = other.send(f"subscribe.{rid}")
    await (await mem_service.get_request(f"access.{rid}")).respond_access(get=True)
    assert await pending.result() == {"models": {rid: model}}


async def test_change_event_before_get_response_is_discarded(mem_client, mem_service):
    pending = mem_client.send("subscribe.test.model")
    reqs = await mem_service.get_requests(2)
    await mem_service.publish_change("test.model", {"string": "bar"})
    await reqs.get("access.test.model").respond_access(get=True)
    await respond_get(reqs.get("get.test.model"))
    assert await pending.result() == {"models": {"test.model": MODEL}}
    await mem_client.assert_no_message()


async def test_change_event_with_new_reference_includes_resource(mem_client, mem_service):
    await subscribe(mem_client, mem_service, "test.model")
    await mem_service.publish_change("test.model", {"ref": {"rid": "test.model.parent"}})
    await respond_get(await mem_service.get_request("get.test.model.parent"))
    assert await mem_client.get_event() == {
        "event": "test.model.change",
        "data": {
            "values": {"ref": {"rid": "test.model.parent"}},
            "models": {"test.model.parent": value("test.model.parent")},
        },
    }


async def test_change_event_with_removed_reference_unsubscribes_it(mem_client, mem_service):
    await subscribe(mem_client, mem_service, "test.model.parent", "test.model")
    await mem_service.publish_change("test.model.parent", {"child": None})
    assert await mem_client.get_event() == {
        "event": "test.model.parent.change",
        "data": {"values": {"child": None}},
    }
    await mem_service.publish_change("test.model", {"string": "bar"})
    await mem_client.assert_no_message()


async def test_change_event_with_changed_reference(mem_client, mem_service):
    await subscribe(mem_client, mem_service, "test.model.parent", "test.model")
    await mem_service.publish_change("test.model.parent", {"child": {"rid": "test.model.brokenchild"}})
    await respond_get(await mem_service.get_request("get.test.model.brokenchild"))
    await respond_get(await mem_service.get_request("get.test.err.notFound"))
    event = await mem_client.get_event("test.model.parent.change")
    assert event["data"] == {
        "values": {"child": {"rid": "test.model.brokenchild"}},
        "models": {"test.model.brokenchild": value("test.model.brokenchild")},
        "errors": {"test.err.notFound": {"code": "system.notFound", "message": "Not found"}},
    }
    await mem_service.publish_change("test.model", {"string": "bar"})
    await mem_client.assert_no_message()


async def test_reference_moved_to_another_property_stays_subscribed(mem_client, mem_service):
    await subscribe(mem_client, mem_service, "test.model.parent", "test.model")
    await mem_service.publish_change("test.model.parent", {"child": None, "other": {"rid": "test.model"}})
    assert (await mem_client.get_event("test.model.parent.change"))["data"] == {
        "values": {"child": None, "other": {"rid": "test.model"}}
    }
    await mem_service.assert_no_request()
    await mem_service.publish_change("test.model", {"string": "bar"})
    assert await mem_client.get_event("test.model.change")


async def test_reference_replaced_by_soft_reference_unsubscribes(mem_client, mem_service):
    await subscribe(mem_client, mem_service, "test.model.parent", "test.model")
    await mem_service.publish_change("test.model.parent", {"child": {"rid": "test.model", "soft": True}})
    await mem_client.get_event("test.model.parent.change")
    await mem_service.publish_change("test.model", {"string": "bar"})
    await mem_client.assert_no_message()


async def test_soft_reference_replaced_by_reference_subscribes(mem_client, mem_service):
    await subscribe(mem_client, mem_service, "test.model.soft")
    await mem_service.publish_change("test.model.soft", {"child": {"rid": "test.model"}})
    await respond_get(await mem_service.get_request("get.test.model"))
    assert (await mem_client.get_event("test.model.soft.change"))["data"] == {
        "values": {"child": {"rid": "test.model"}},
        "models": {"test.model": MODEL},
    }


@pytest.mark.parametrize(
    ("payload", "data"),
    [({"foo": "bar"}, {"foo": "bar"}), ([1, 2], [1, 2]), ("text", "text"), (None, None), (42, 42)],
)
async def test_custom_event_is_forwarded(mem_client, mem_service, payload, data):
    await subscribe(mem_client, mem_service, "test.model")
    await mem_service.publish_event("test.model", "custom", payload)
    assert await mem_client.get_event() == {"event": "test.model.custom", "data": data}


async def test_custom_event_with_invalid_json_is_dropped(mem_client, mem_service):
    await subscribe(mem_client, mem_service, "test.model")
    await mem_service.publish_event("test.model", "custom", b"{not json")
    await mem_client.assert_no_message()


async def test_events_reach_every_subscribed_client_in_order(mem_client, mem_connect, mem_service):
    others = [await mem_connect() for _ in range(3)]
    await subscribe(mem_client, mem_service, "test.model")
    for other in others:
        pending = other.send("subscribe.test.model")
        await (await mem_service.get_request("access.test.model")).respond_access(get=True)
        await pending.result()
    for n in range(20):
        await mem_service.publish_change("test.model", {"int": n})
    for c in [mem_client, *others]:
        for n in range(20):
            assert await c.get_event() == {"event": "test.model.change", "data": {"values": {"int": n}}}


async def test_events_on_unsubscribed_resource_are_not_sent(mem_client, mem_service):
    await subscribe(mem_client, mem_service, "test.model")
    assert await mem_client.request("unsubscribe.test.model") == {"id": mem_client._next_id - 1}
    await mem_service.publish_change("test.model", {"int": 1})
    await mem_client.assert_no_message()


@pytest.mark.parametrize("version", [None, "1.2.0"])
async def test_legacy_clients_get_soft_references_and_data_as_strings(mem_connect, mem_service, version):
    c = await mem_connect(version=version)
    await subscribe(c, mem_service, "test.model")
    await mem_service.publish_change(
        "test.model", {"soft": {"rid": "test.x", "soft": True}, "obj": {"data": {"a": 1}}}
    )
    assert (await c.get_event("test.model.change"))["data"] == {"values": {"soft": "test.x", "obj": "[Data]"}}
