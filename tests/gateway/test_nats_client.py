"""The NATS client's log: closing it on purpose is no lost connection."""

from __future__ import annotations

import logging

import pytest

from res_gateway.mq.nats import connect


async def test_close_logs_no_disconnect_warning(nats_url: str, caplog: pytest.LogCaptureFixture) -> None:
    client = await connect(nats_url)
    with caplog.at_level(logging.WARNING, logger="res_gateway.mq"):
        await client.close()
    assert caplog.messages == []
