"""Cache eviction: resources stay cached for unsubscribeDelay after their last subscriber."""

from __future__ import annotations

import asyncio

import pytest

from tests.gateway.common import respond_get, subscribe, value

DELAY = 0.2


@pytest.fixture
def mem_config():
    return {"unsubscribeDelay": DELAY}


async def resubscribe_cached(mem_client, mem_service, rid: str) -> dict:
    pending = mem_client.send(f"subscribe.{rid}")
    await (await mem_service.get_request(f"access.{rid}")).respond_access(get=True)
    result = await pending.result()
    await mem_service.assert_no_request(0.05)
    return result


async def test_resource_stays_cached_within_delay(mem_client, mem_service):
    await subscribe(mem_client, mem_service, "test.model")
    await mem_client.request("unsubscribe.test.model")
    assert await resubscribe_cached(mem_client, mem_service, "test.model") == {
        "models": {"test.model": value("test.model")}
    }
    await mem_client.request("unsubscribe.test.model")
    await asyncio.sleep(DELAY * 2)  # evicted: fetched again
    assert await subscribe(mem_client, mem_service, "test.model") == {
        "models": {"test.model": value("test.model")}
    }


async def test_cached_resource_keeps_following_events(mem_client, mem_service):
    await subscribe(mem_client, mem_service, "test.collection")
    await mem_client.request("unsubscribe.test.collection")
    await mem_service.publish_add("test.collection", "new", 0)
    assert await resubscribe_cached(mem_client, mem_service, "test.collection") == {
        "collections": {"test.collection": ["new", *value("test.collection")]}
    }


async def test_reset_includes_resources_in_eviction_delay(mem_client, mem_service):
    await subscribe(mem_client, mem_service, "test.model.parent", "test.model")
    await mem_client.request("unsubscribe.test.model.parent")
    await mem_service.publish_reset(resources=["test.>"])
    reqs = await mem_service.get_requests(2)
    await respond_get(reqs.get("get.test.model"))
    await reqs.get("get.test.model.parent").respond_model({"name": "changed", "child": {"rid": "test.model"}})
    await mem_client.assert_no_message()
    pending = mem_client.send("subscribe.test.model.parent")
    await (await mem_service.get_request("access.test.model.parent")).respond_access(get=True)
    assert (await pending.result())["models"]["test.model.parent"]["name"] == "changed"


async def test_delete_of_resource_in_eviction_delay_sends_nothing(mem_client, mem_service):
    await subscribe(mem_client, mem_service, "test.model")
    await mem_client.request("unsubscribe.test.model")
    await mem_service.publish_event("test.model", "delete")
    await mem_client.assert_no_message()


async def test_query_resources_are_evicted_at_once(mem_client, mem_service):
    pending = mem_client.send("subscribe.test.model?q=1")
    reqs = await mem_service.get_requests(2)
    await reqs.get("access.test.model").respond_access(get=True)
    await reqs.get("get.test.model").respond_model({"q": 1}, "q=1")
    await pending.result()
    await mem_client.request("unsubscribe.test.model?q=1")
    pending = mem_client.send("subscribe.test.model?q=1")
    reqs = await mem_service.get_requests(2)
    await reqs.get("access.test.model").respond_access(get=True)
    await reqs.get("get.test.model").respond_model({"q": 2}, "q=1")
    assert await pending.result() == {"models": {"test.model?q=1": {"q": 2}}}
