"""Query resources: normalized queries sharing one cache entry, links, and query events."""

from __future__ import annotations

import asyncio

import pytest

from tests.gateway.common import value

MODEL = value("test.model")
COLLECTION = value("test.collection")


async def subscribe_query(
    mem_client, mem_service, query: str, normalized: str | None, kind="model", get=True
):
    """Subscribe ``test.<kind>?<query>``; the service normalizes to ``normalized``."""
    rid = f"test.{kind}?{query}" if query else f"test.{kind}"
    pending = mem_client.send(f"subscribe.{rid}")
    reqs = await mem_service.get_requests(2 if get else 1)
    access = reqs.get(f"access.test.{kind}")
    assert access.data.get("query", "") == query
    await access.respond_access(get=True)
    if get:
        req = reqs.get(f"get.test.{kind}")
        assert req.data == ({"query": query} if query else {})
        await (req.respond_model(MODEL, normalized) if kind == "model" else
               req.respond_collection(COLLECTION, normalized))  # fmt: skip
    return await pending.result(), rid


async def test_query_model_subscribe(mem_client, mem_service):
    result, rid = await subscribe_query(mem_client, mem_service, "q=foo&f=bar", "q=foo&f=bar")
    assert result == {"models": {rid: MODEL}}


async def test_query_is_sent_with_cid_expanded(mem_client, mem_service):
    pending = mem_client.send("subscribe.test.model?user={cid}")
    reqs = await mem_service.get_requests(2)
    access = reqs.get("access.test.model")
    cid = access.data["cid"]
    assert access.data["query"] == f"user={cid}"
    assert reqs.get("get.test.model").data == {"query": f"user={cid}"}
    await access.respond_access(get=True)
    await reqs.get("get.test.model").respond_model(MODEL, f"user={cid}")
    assert await pending.result() == {"models": {"test.model?user={cid}": MODEL}}


async def test_same_normalized_query_is_fetched_from_cache(mem_client, mem_service):
    await subscribe_query(mem_client, mem_service, "q=foo&f=bar", "f=bar&q=foo")
    result, rid = await subscribe_query(mem_client, mem_service, "f=bar&q=foo", None, get=False)
    assert result == {"models": {rid: MODEL}}


async def test_different_normalizations_share_one_entry(mem_client, mem_service):
    await subscribe_query(mem_client, mem_service, "q=foo&f=bar", "f=bar&q=foo")
    result, rid = await subscribe_query(mem_client, mem_service, "f=bar&q=foo&fake=1", "f=bar&q=foo")
    assert result == {"models": {rid: MODEL}}
    await mem_service.publish_query_event("test.model")
    req = await mem_service.get_request("_QUERY_.1")
    assert req.data == {"query": "f=bar&q=foo"}
    await req.respond_result({"events": [{"event": "change", "data": {"values": {"string": "bar"}}}]})
    events = {(await mem_client.get_event())["event"] for _ in range(2)}
    assert events == {"test.model?q=foo&f=bar.change", "test.model?f=bar&q=foo&fake=1.change"}
    await mem_service.assert_no_request()


async def test_different_queries_each_get_and_access(mem_client, mem_service):
    await subscribe_query(mem_client, mem_service, "q=foo", "q=foo")
    await subscribe_query(mem_client, mem_service, "q=bar", "q=bar")


async def test_long_query_is_sent_in_payload(mem_client, mem_service):
    query = "q=" + "a" * 5000
    result, rid = await subscribe_query(mem_client, mem_service, query, query)
    assert result == {"models": {rid: MODEL}}


async def test_non_query_model_subscribed_with_query_links_to_base(mem_client, mem_service):
    result, rid = await subscribe_query(mem_client, mem_service, "q=foo", None)
    assert result == {"models": {"test.model?q=foo": MODEL}}
    # Plain events of the base resource reach the query rid
    await mem_service.publish_change("test.model", {"string": "bar"})
    assert await mem_client.get_event() == {
        "event": "test.model?q=foo.change",
        "data": {"values": {"string": "bar"}},
    }


async def test_query_model_subscribed_without_query_ignores_plain_events(mem_client, mem_service):
    result, rid = await subscribe_query(mem_client, mem_service, "", "q=default")
    assert result == {"models": {"test.model": MODEL}}
    await mem_service.publish_change("test.model", {"string": "bar"})
    await mem_client.assert_no_message()
    await mem_service.publish_query_event("test.model")
    req = await mem_service.get_request("_QUERY_.1")
    assert req.data == {"query": "q=default"}
    await req.respond_result({"events": [{"event": "change", "data": {"values": {"string": "baz"}}}]})
    assert await mem_client.get_event() == {
        "event": "test.model.change",
        "data": {"values": {"string": "baz"}},
    }


async def test_model_with_reference_to_query_model(mem_client, mem_service):
    pending = mem_client.send("subscribe.test.model.query.parent")
    reqs = await mem_service.get_requests(2)
    await reqs.get("access.test.model.query.parent").respond_access(get=True)
    await reqs.get("get.test.model.query.parent").respond_model({"child": {"rid": "test.model?foo=bar"}})
    req = await mem_service.get_request("get.test.model")
    assert req.data == {"query": "foo=bar"}
    await req.respond_model(MODEL, "foo=bar")
    assert await pending.result() == {
        "models": {
            "test.model.query.parent": {"child": {"rid": "test.model?foo=bar"}},
            "test.model?foo=bar": MODEL,
        }
    }


QUERY_RESULTS = [
    # (kind, query response, events the client gets)
    ("model", {"events": []}, []),
    ("model", {}, []),
    ("model", {"events": None}, []),
    ("model", {"events": [{"event": "change", "data": {"values": {"string": "bar", "int": -12}}}]},
     [("change", {"values": {"string": "bar", "int": -12}})]),
    ("model", {"events": [{"event": "change", "data": {"values": {"string": "foo"}}}]}, []),
    ("model", {"model": {**MODEL, "string": "bar"}}, [("change", {"values": {"string": "bar"}})]),
    ("model", {"collection": ["a"]}, []),
    ("model", {"model": MODEL, "events": []}, []),
    ("model", {"events": [{"event": "delete"}]},
     [("delete", None), ("unsubscribe", {"reason": {"code": "system.deleted", "message": "Deleted"}})]),
    ("model", {"events": "x"}, []),
    ("collection", {"events": [{"event": "add", "data": {"idx": 1, "value": "bar"}},
                               {"event": "remove", "data": {"idx": 0}}]},
     [("add", {"idx": 1, "value": "bar"}), ("remove", {"idx": 0})]),
    ("collection", {"collection": [42, "new", True, None]},
     [("remove", {"idx": 0}), ("add", {"idx": 1, "value": "new"})]),
    ("collection", {"model": {}}, []),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "response", "events"), QUERY_RESULTS)
async def test_query_event(mem_client, mem_service, kind, response, events):
    _, rid = await subscribe_query(mem_client, mem_service, "q=foo", "q=foo", kind)
    subject = await mem_service.publish_query_event(f"test.{kind}")
    req = await mem_service.get_request(subject)
    assert req.data == {"query": "q=foo"}
    await req.respond_result(response)
    for name, data in events:
        assert await mem_client.get_event() == {"event": f"{rid}.{name}", "data": data}
    await mem_client.assert_no_message()


async def test_query_event_updates_the_cache(mem_client, mem_connect, mem_service):
    _, rid = await subscribe_query(mem_client, mem_service, "q=foo", "q=foo")
    await mem_service.publish_query_event("test.model")
    await (await mem_service.get_request("_QUERY_.1")).respond_result(
        {"events": [{"event": "change", "data": {"values": {"string": "bar"}}}]}
    )
    await mem_client.get_event()
    other = await mem_connect()
    pending = other.send(f"subscribe.{rid}")
    await (await mem_service.get_request("access.test.model")).respond_access(get=True)
    assert await pending.result() == {"models": {rid: {**MODEL, "string": "bar"}}}


@pytest.mark.parametrize("error", ["system.notFound", "system.internalError"])
async def test_query_event_error_response(mem_client, mem_service, error):
    _, rid = await subscribe_query(mem_client, mem_service, "q=foo", "q=foo")
    await mem_service.publish_query_event("test.model")
    await (await mem_service.get_request("_QUERY_.1")).respond_error(error, "x")
    if error == "system.notFound":
        assert await mem_client.get_event() == {"event": f"{rid}.delete", "data": None}
        assert (await mem_client.get_event())["event"] == f"{rid}.unsubscribe"
    await mem_client.assert_no_message()


async def test_query_event_on_multiple_queries(mem_client, mem_service):
    await subscribe_query(mem_client, mem_service, "q=foo", "q=foo")
    await subscribe_query(mem_client, mem_service, "q=bar", "q=bar")
    await mem_service.publish_query_event("test.model")
    reqs = await mem_service.get_requests(2)
    assert sorted(r.data["query"] for r in reqs.items) == ["q=bar", "q=foo"]
    for req in reqs.items:
        await req.respond_result({})
    await mem_client.assert_no_message()


async def test_query_event_without_query_resources_sends_nothing(mem_client, mem_service):
    await subscribe_query(mem_client, mem_service, "", None)
    await mem_service.publish_query_event("test.model")
    await mem_service.assert_no_request()


@pytest.mark.parametrize("payload", [{}, {"subject": ""}, {"subject": 42}, "x"])
async def test_invalid_query_event_is_dropped(mem_client, mem_service, payload):
    await subscribe_query(mem_client, mem_service, "q=foo", "q=foo")
    await mem_service.publish_event("test.model", "query", payload)
    await mem_service.assert_no_request()


async def test_query_event_holds_other_events_until_handled(mem_client, mem_service):
    await subscribe_query(mem_client, mem_service, "", None)
    _, rid = await subscribe_query(mem_client, mem_service, "q=foo", "q=foo")
    await mem_service.publish_query_event("test.model")
    req = await mem_service.get_request("_QUERY_.1")
    await mem_service.publish_event("test.model", "custom", {"a": 1})
    await mem_client.assert_no_message()
    await req.respond_result({"events": [{"event": "change", "data": {"values": {"string": "bar"}}}]})
    assert (await mem_client.get_event())["event"] == "test.model?q=foo.change"
    assert await mem_client.get_event() == {"event": "test.model.custom", "data": {"a": 1}}


async def test_query_subscribers_are_evicted_at_once(mem_client, mem_service):
    _, rid = await subscribe_query(mem_client, mem_service, "q=foo", "q=foo")
    await mem_client.request(f"unsubscribe.{rid}")
    await asyncio.sleep(0.1)
    await subscribe_query(mem_client, mem_service, "q=foo", "q=foo")
