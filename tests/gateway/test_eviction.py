"""Cache eviction: resources stay cached for unsubscribeDelay after their last subscriber."""

from __future__ import annotations

import asyncio

import pytest

from tests.gateway.common import respond_get, subscribe, value
from tests.harness import run_gateway

DELAY = 0.3


@pytest.fixture(scope="module")
def delayed(nats_url):
    gw = run_gateway(nats_url, unsubscribeDelay=DELAY)
    yield gw
    gw.stop()


@pytest.fixture
async def c(delayed, connect):
    return await connect(delayed.ws_url)


async def resubscribe_cached(c, service, rid: str) -> dict:
    pending = c.send(f"subscribe.{rid}")
    await (await service.get_request(f"access.{rid}")).respond_access(get=True)
    result = await pending.result()
    await service.assert_no_request(0.05)
    return result


async def test_resource_stays_cached_within_delay(c, service):
    await subscribe(c, service, "test.model")
    await c.request("unsubscribe.test.model")
    assert await resubscribe_cached(c, service, "test.model") == {
        "models": {"test.model": value("test.model")}
    }
    await c.request("unsubscribe.test.model")
    await asyncio.sleep(DELAY + 0.3)
    assert await subscribe(c, service, "test.model") == {"models": {"test.model": value("test.model")}}
    await c.request("unsubscribe.test.model")
    await asyncio.sleep(DELAY + 0.3)


async def test_cached_resource_keeps_following_events(c, service):
    await subscribe(c, service, "test.collection")
    await c.request("unsubscribe.test.collection")
    await service.publish_add("test.collection", "new", 0)
    assert await resubscribe_cached(c, service, "test.collection") == {
        "collections": {"test.collection": ["new", *value("test.collection")]}
    }
    await c.request("unsubscribe.test.collection")
    await asyncio.sleep(DELAY + 0.3)


async def test_reset_includes_resources_in_eviction_delay(c, service):
    await subscribe(c, service, "test.model.parent", "test.model")
    await c.request("unsubscribe.test.model.parent")
    await service.publish_reset(resources=["test.>"])
    reqs = await service.get_requests(2)
    await respond_get(reqs.get("get.test.model"))
    await reqs.get("get.test.model.parent").respond_model({"name": "changed", "child": {"rid": "test.model"}})
    await c.assert_no_message()
    pending = c.send("subscribe.test.model.parent")
    await (await service.get_request("access.test.model.parent")).respond_access(get=True)
    assert (await pending.result())["models"]["test.model.parent"]["name"] == "changed"
    await c.request("unsubscribe.test.model.parent")
    await asyncio.sleep(DELAY + 0.3)


async def test_delete_of_resource_in_eviction_delay_sends_nothing(c, service):
    await subscribe(c, service, "test.model")
    await c.request("unsubscribe.test.model")
    await service.publish_event("test.model", "delete")
    await c.assert_no_message()
    await asyncio.sleep(DELAY + 0.3)


async def test_query_resources_are_evicted_at_once(c, service):
    pending = c.send("subscribe.test.model?q=1")
    reqs = await service.get_requests(2)
    await reqs.get("access.test.model").respond_access(get=True)
    await reqs.get("get.test.model").respond_model({"q": 1}, "q=1")
    await pending.result()
    await c.request("unsubscribe.test.model?q=1")
    pending = c.send("subscribe.test.model?q=1")
    reqs = await service.get_requests(2)
    await reqs.get("access.test.model").respond_access(get=True)
    await reqs.get("get.test.model").respond_model({"q": 2}, "q=1")
    assert await pending.result() == {"models": {"test.model?q=1": {"q": 2}}}
    await c.request("unsubscribe.test.model?q=1")
    await asyncio.sleep(DELAY + 0.3)
