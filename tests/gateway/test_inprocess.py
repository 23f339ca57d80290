"""The in-memory client's lost connection drives the gateway as a lost NATS connection does."""

from __future__ import annotations

from tests.gateway.common import subscribe, value


async def test_lost_connection_fails_requests_and_the_return_resyncs(mem_gateway, mem_client, mem_service):
    await subscribe(mem_client, mem_service, "test.model")
    await mem_gateway.mq.disconnect()
    error = await mem_client.send("subscribe.test.other").error("system.internalError")
    assert "NATS" in error["message"]
    mem_service.auto("get.test.model", {"result": {"model": {**value("test.model"), "int": 43}}})
    await mem_gateway.mq.reconnect()
    await (await mem_service.get_request("access.test.model")).respond_access(get=True)
    assert await mem_client.get_event() == {"event": "test.model.change", "data": {"values": {"int": 43}}}
