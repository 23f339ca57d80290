"""Connection tokens, reaccess events and system.tokenReset."""

from __future__ import annotations

import pytest

from tests.gateway.common import ACCESS_DENIED, get_cid, respond_get, set_token, subscribe

EVENT = {"foo": "bar"}
UNSUBSCRIBE_DENIED = {"reason": ACCESS_DENIED}


async def test_token_is_sent_in_access_and_call_requests(mem_client, mem_service):
    cid = await set_token(mem_client, mem_service, {"user": "foo"})
    pending = mem_client.send("subscribe.test.model")
    reqs = await mem_service.get_requests(2)
    assert reqs.get("access.test.model").data == {"cid": cid, "token": {"user": "foo"}}
    await reqs.get("access.test.model").respond_access(get=True, call="*")
    await respond_get(reqs.get("get.test.model"))
    await pending.result()
    pending = mem_client.send("call.test.model.method", None)
    req = await mem_service.get_request("call.test.model.method")
    assert req.data == {"cid": cid, "token": {"user": "foo"}, "params": None}
    await req.respond_result(None)
    await pending


async def test_last_token_is_used(mem_client, mem_service):
    for n, token in enumerate([{"user": "foo", "token": 1}, {"user": "bar", "token": 2}, None]):
        await set_token(mem_client, mem_service, token)
        pending = mem_client.send(f"call.test.model{n}.method", None)
        req = await mem_service.get_request(f"access.test.model{n}")
        assert req.data["token"] == token
        await req.respond_access(get=False)
        await pending.error("system.accessDenied")


async def test_token_event_rechecks_access_of_direct_subscriptions(mem_client, mem_service):
    cid = await set_token(mem_client, mem_service, {"user": "foo"})
    await subscribe(mem_client, mem_service, "test.model.parent", "test.model")
    await subscribe(mem_client, mem_service, "test.collection")
    await mem_service.publish_token(cid, {"user": "foo"})
    reqs = await mem_service.get_requests(2)
    await reqs.get("access.test.model.parent").respond_access(get=True)
    await reqs.get("access.test.collection").respond_access(get=True)
    await mem_service.assert_no_request()
    for rid in ("test.model", "test.model.parent", "test.collection"):
        await mem_service.publish_event(rid, "custom", EVENT)
        assert await mem_client.get_event() == {"event": f"{rid}.custom", "data": EVENT}


async def test_token_event_denying_access_unsubscribes(mem_client, mem_service):
    cid = await set_token(mem_client, mem_service, {"user": "foo"})
    await subscribe(mem_client, mem_service, "test.model.parent", "test.model")
    await subscribe(mem_client, mem_service, "test.collection")
    await mem_service.publish_token(cid, {"user": "bar"})
    reqs = await mem_service.get_requests(2)
    await reqs.get("access.test.model.parent").respond_access(get=False)
    await reqs.get("access.test.collection").respond_error("system.accessDenied", "Access denied")
    events = {(await mem_client.get_event())["event"]: None for _ in range(2)}
    assert set(events) == {"test.model.parent.unsubscribe", "test.collection.unsubscribe"}
    for rid in ("test.model", "test.model.parent", "test.collection"):
        await mem_service.publish_event(rid, "custom", EVENT)
    await mem_client.assert_no_message()


async def test_unsubscribe_event_carries_reason(mem_client, mem_service):
    cid = await set_token(mem_client, mem_service, "a")
    await subscribe(mem_client, mem_service, "test.model")
    await mem_service.publish_token(cid, "b")
    await (await mem_service.get_request("access.test.model")).respond_access(get=False)
    assert await mem_client.get_event() == {"event": "test.model.unsubscribe", "data": UNSUBSCRIBE_DENIED}
    await mem_client.send("unsubscribe.test.model").error("system.noSubscription")


async def test_first_token_keeps_cached_access(mem_client, mem_service):
    cid = await get_cid(mem_client, mem_service)
    await subscribe(mem_client, mem_service, "test.model")
    await mem_service.publish_token(cid, {"user": "foo"})
    await mem_service.assert_no_request()


async def test_reaccess_event_rechecks_access(mem_client, mem_service):
    await subscribe(mem_client, mem_service, "test.model")
    await mem_service.publish_event("test.model", "reaccess")
    await (await mem_service.get_request("access.test.model")).respond_access(get=True)
    await mem_service.publish_event("test.model", "custom", EVENT)
    assert await mem_client.get_event() == {"event": "test.model.custom", "data": EVENT}


async def test_reaccess_event_denying_access_unsubscribes(mem_client, mem_service):
    await subscribe(mem_client, mem_service, "test.model.parent", "test.model")
    await mem_service.publish_event("test.model.parent", "reaccess")
    await (await mem_service.get_request("access.test.model.parent")).respond_access(get=False)
    assert await mem_client.get_event() == {
        "event": "test.model.parent.unsubscribe",
        "data": UNSUBSCRIBE_DENIED,
    }
    await mem_service.publish_event("test.model", "custom", EVENT)
    await mem_client.assert_no_message()


async def test_reaccess_event_queues_events_until_access(mem_client, mem_service):
    await subscribe(mem_client, mem_service, "test.model.parent", "test.model")
    await mem_service.publish_event("test.model.parent", "reaccess")
    req = await mem_service.get_request("access.test.model.parent")
    await mem_service.publish_event("test.model.parent", "custom", EVENT)
    await mem_service.publish_event("test.model", "custom", EVENT)
    assert await mem_client.get_event() == {"event": "test.model.custom", "data": EVENT}
    await mem_client.assert_no_message()
    await req.respond_access(get=True)
    assert await mem_client.get_event() == {"event": "test.model.parent.custom", "data": EVENT}


async def test_reaccess_before_get_response_is_not_discarded(mem_client, mem_service):
    pending = mem_client.send("subscribe.test.model")
    reqs = await mem_service.get_requests(2)
    await reqs.get("access.test.model").respond_access(get=True)
    await mem_service.publish_event("test.model", "reaccess")
    await mem_service.publish_event("test.model", "reaccess")
    await respond_get(reqs.get("get.test.model"))
    await pending.result()
    await (await mem_service.get_request("access.test.model")).respond_access(get=False)
    assert await mem_client.get_event() == {"event": "test.model.unsubscribe", "data": UNSUBSCRIBE_DENIED}
    await mem_service.assert_no_request()


async def test_reaccess_on_cyclic_reference(mem_client, mem_service):
    await subscribe(mem_client, mem_service, "test.m.a")
    await mem_service.publish_event("test.m.a", "reaccess")
    await (await mem_service.get_request("access.test.m.a")).respond_access(get=True)
    await mem_service.assert_no_request()


async def test_reaccess_on_indirect_subscription_sends_no_request(mem_client, mem_service):
    await subscribe(mem_client, mem_service, "test.model.parent", "test.model")
    await mem_service.publish_event("test.model", "reaccess")
    await mem_service.publish_event("test.model", "custom", EVENT)
    assert await mem_client.get_event() == {"event": "test.model.custom", "data": EVENT}
    await mem_service.assert_no_request()


async def test_reaccess_makes_call_ask_access_again(mem_client, mem_service):
    await subscribe(mem_client, mem_service, "test.model.parent", "test.model")
    pending = mem_client.send("call.test.model.method", None)
    await (await mem_service.get_request("access.test.model")).respond_access(call="*")
    await (await mem_service.get_request("call.test.model.method")).respond_result(1)
    await pending
    await mem_service.publish_event("test.model", "reaccess")
    await mem_service.publish_event("test.model", "custom", EVENT)
    await mem_client.get_event("test.model.custom")  # events of a resource are handled in order
    pending = mem_client.send("call.test.model.method", None)
    await (await mem_service.get_request("access.test.model")).respond_access(call="")
    await pending.error("system.accessDenied")


async def test_token_reset_sends_auth_request_for_matching_tid(client, service):
    cid = await set_token(client, service, {"user": "foo"}, tid="t1")
    await service.publish("system.tokenReset", {"tids": ["t0", "t1"], "subject": "auth.test.refresh"})
    req = await service.get_request("auth.test.refresh")
    assert req.data["cid"] == cid and req.data["token"] == {"user": "foo"}
    assert "params" not in req.data and "isHttp" not in req.data
    assert req.data["header"]["Upgrade"] == ["websocket"]
    await req.respond_result(None)


async def test_token_reset_without_matching_tid_sends_nothing(mem_client, mem_service):
    await set_token(mem_client, mem_service, {"user": "foo"}, tid="t1")
    for payload in (
        {"tids": ["t2"], "subject": "auth.test.refresh"},
        {"tids": [], "subject": "auth.test.refresh"},
        {"tids": ["t1"]},
        b"{broken",
    ):
        await mem_service.publish("system.tokenReset", payload)
    await mem_service.assert_no_request()


@pytest.mark.parametrize("payload", [b"{broken", b"[]", b"42"])
async def test_invalid_token_event_is_ignored(mem_client, mem_service, payload):
    async def publish_invalid(cid: str) -> None:
        await mem_service.publish(f"conn.{cid}.token", payload)
        await mem_service.publish(f"conn.{cid}.other", {"token": "other"})

    await set_token(mem_client, mem_service, "kept")
    await get_cid(mem_client, mem_service, before_reply=publish_invalid)
    pending = mem_client.send("call.test.model.method")
    access = await mem_service.get_request("access.test.model")
    assert access.data["token"] == "kept"
    await access.respond_access(call="")
    await pending.error("system.accessDenied")


async def test_token_reset_reaches_every_connection_with_the_tid(mem_connect, mem_service):
    clients = [await mem_connect() for _ in range(3)]
    cids = [await get_cid(c, mem_service) for c in clients]
    for cid, tid in zip(cids, ["a", "b", "a"], strict=True):
        await mem_service.publish_token(cid, {"cid": cid}, tid=tid)
    await mem_service.publish("system.tokenReset", {"tids": ["a"], "subject": "auth.test.refresh"})
    reqs = await mem_service.get_requests(2)
    assert {r.data["cid"] for r in reqs.items} == {cids[0], cids[2]}
    await mem_service.assert_no_request()


async def test_token_event_reaches_its_connection_alone(mem_connect, mem_service):
    clients = [await mem_connect() for _ in range(2)]
    for client, token in zip(clients, ["a", "b"], strict=True):
        await set_token(client, mem_service, token)
    await mem_service.publish_token("0" * 20, "nobody's")  # a cid no connection has
    for client, token in zip(clients, ["a", "b"], strict=True):
        pending = client.send("call.test.model.method")
        access = await mem_service.get_request("access.test.model")
        assert access.data["token"] == token
        await access.respond_access(call="")
        await pending.error("system.accessDenied")


async def test_meta_is_ignored_for_websocket_clients(mem_client, mem_service):
    pending = mem_client.send("call.test.model.method")
    await (await mem_service.get_request("access.test.model")).respond_access(call="*")
    req = await mem_service.get_request("call.test.model.method")
    await req.respond_result("ok", meta={"status": 401, "header": {"X-A": ["b"]}})
    assert await pending.result() == {"payload": "ok"}
