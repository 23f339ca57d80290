"""The NATS client's log: closing it on purpose is no lost connection."""

from __future__ import annotations

import asyncio
import logging

import pytest
import uvloop

from res_gateway.mq.nats import connect
from tests.support import NatsServer


async def test_close_logs_no_disconnect_warning(nats_url: str, caplog: pytest.LogCaptureFixture) -> None:
    client = await connect(nats_url)
    with caplog.at_level(logging.WARNING, logger="res_gateway.mq"):
        await client.close()
    assert caplog.messages == []


def test_lost_connection_says_so_naming_the_url_and_closes_quietly(caplog: pytest.LogCaptureFixture) -> None:
    nats = NatsServer()

    async def lose_and_close() -> None:
        client = await connect(nats.url)
        nats.stop()
        for _ in range(100):  # each reconnect attempt is a line naming the URL
            if sum(f"NATS at {nats.url} is unreachable" in m for m in caplog.messages) >= 2:
                break
            await asyncio.sleep(0.05)
        await client.close()

    try:
        with caplog.at_level(logging.WARNING, logger="res_gateway.mq"):
            uvloop.run(lose_and_close())  # the loop the commands run on
    finally:
        nats.stop()
    assert f"disconnected from NATS at {nats.url}; reconnecting" in caplog.messages
    assert sum(f"NATS at {nats.url} is unreachable" in m for m in caplog.messages) >= 2, caplog.messages
    assert not any("closing NATS" in m for m in caplog.messages), caplog.messages
