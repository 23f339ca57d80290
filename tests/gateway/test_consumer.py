"""The Channels consumer handles a socket's messages one at a time, in order, and ends on disconnect."""

from __future__ import annotations

import asyncio
import json
from collections import deque
from typing import Any

import pytest

from res_gateway import consumers
from res_gateway.gateway import Gateway
from res_gateway.transport import DIRECT_IO, WRITE_NOW


async def test_messages_are_handled_in_order_until_disconnect(
    mem_gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(consumers, "get_gateway", lambda: mem_gateway)
    received: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    sent: list[dict[str, Any]] = []
    written: list[str] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    def write_now(texts: deque[str]) -> bool:
        written.extend(texts)
        texts.clear()
        return True

    # All queued before the consumer starts: each message is handled once the one before it was.
    received.put_nowait({"type": "websocket.connect"})
    requests = [{"id": 1, "method": "version", "params": {"protocol": "1.2.3"}}]
    requests += [{"id": i, "method": f"unknown{i}"} for i in range(2, 6)]
    for request in requests:
        received.put_nowait({"type": "websocket.receive", "text": json.dumps(request)})
    received.put_nowait({"type": "websocket.disconnect", "code": 1000})
    scope = {
        "type": "websocket",
        "path": "/",
        "headers": [],
        "client": ("127.0.0.1", 4321),
        "extensions": {DIRECT_IO: {WRITE_NOW: write_now}},
    }
    await asyncio.wait_for(consumers.GatewayConsumer.as_asgi()(scope, received.get, send), 5)

    assert sent == [{"type": "websocket.accept", "headers": []}]
    replies = [json.loads(text) for text in written]
    assert [r["id"] for r in replies] == [1, 2, 3, 4, 5]
    assert [r["error"]["code"] for r in replies[1:]] == ["system.invalidRequest"] * 4
    assert not mem_gateway.connections
