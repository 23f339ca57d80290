"""Stopping cleanly in every NATS state: connected, unreachable (reconnecting) and closed."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from res_bridge.publisher import Publisher
from res_bridge.service import Service
from tests.support import NatsProxy, NatsServer, Process, manage


async def _wait_for_output(process: Process, text: str) -> None:
    """Wait (up to 15 s) until ``text`` is in the output of the running ``process``."""
    async with asyncio.timeout(15):
        while text not in process.log_path.read_text(errors="replace"):
            assert process.proc.poll() is None, process.log_path.read_text(errors="replace")
            await asyncio.sleep(0.05)


@pytest.mark.parametrize(
    ("nats_down", "log_line"),
    [
        (False, None),
        (True, "RES service stopping while NATS is unreachable: closing; 0 queued messages not delivered"),
    ],
)
async def test_the_service_process_stops_cleanly(tmp_path, nats_down, log_line):
    server = NatsServer()
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "NATS_URL": server.url}
    process = manage("runresservice", env=env)
    try:
        await _wait_for_output(process, "RES service serving library.>")
        if nats_down:
            server.stop()
            await _wait_for_output(process, "lost its NATS connection")
    finally:
        code = process.stop()
        server.stop()
    output = process.log_path.read_text(errors="replace")
    assert code == 0, output
    assert "Traceback" not in output
    assert "stopping while NATS" not in output if log_line is None else output.count(log_line) == 1


@pytest.mark.django_db(transaction=True)
async def test_the_service_stops_cleanly_once_its_connection_is_closed(nats_url, caplog):
    service = Service(nats_url=nats_url, queue_group=uuid.uuid4().hex)
    await service.start()
    await service.nc.close()
    await service.stop()
    assert service.nc is None
    assert [r.getMessage() for r in caplog.records if r.levelname != "INFO"] == [
        "RES service stopping while NATS is closed: closing; 0 queued messages not delivered"
    ]


def test_a_process_publishing_while_nats_is_down_exits_cleanly(tmp_path):
    server = NatsServer()
    script = (
        "import time\n"
        "from res_bridge.publisher import publish, flush\n"
        "publish('event.library.book.1.custom', {}); assert flush()\n"
        "print('published', flush=True)\n"
        "while publish('event.library.book.1.custom', {}) or flush(0.05): time.sleep(0.05)\n"
    )
    env = {"NATS_URL": server.url, "RES_BRIDGE": '{"FLUSH_TIMEOUT": 1}'}
    process = manage("shell", "-c", script, env=env)
    try:
        asyncio.run(_wait_for_output(process, "published"))
        server.stop()
        assert process.proc.wait(30) == 0
    finally:
        process.stop()
        server.stop()
    output = process.log_path.read_text(errors="replace")
    assert "Traceback" not in output
    # Depending on when the client notices the lost server, the messages are still buffered or unconfirmed.
    assert "RES messages not delivered: NATS" in output


async def test_closing_the_publisher_while_nats_holds_back_its_answers_says_so(nats_url, caplog):
    """Connected, but NATS confirms nothing in time: close gives up after its timeout and says so."""
    proxy = NatsProxy(int(nats_url.rsplit(":", 1)[1]))
    publisher = Publisher(nats_url=await proxy.start())
    try:
        publisher.publish("event.library.book.1.custom", {})
        assert await asyncio.to_thread(publisher.flush, 5)
        proxy.hold()
        publisher.publish("event.library.book.1.custom", {})
        await asyncio.to_thread(publisher.close, 0.5)
    finally:
        await proxy.stop()
    problems = [r.getMessage() for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
    assert problems == []
    assert "1 RES messages not delivered: NATS did not confirm them" in caplog.text


def test_closing_the_publisher_while_nats_is_down_is_clean(caplog):
    server = NatsServer()
    publisher = Publisher(nats_url=server.url, reconnect_wait=0.1)
    try:
        publisher.publish("event.library.book.1.custom", {})
        assert publisher.flush(5)
        server.stop()
        deadline = time.monotonic() + 5
        while publisher.connected:  # closing before the client notices is the "did not confirm" case
            assert time.monotonic() < deadline, "the publisher never noticed that NATS stopped"
            time.sleep(0.01)
        publisher.publish("event.library.book.1.custom", {})
        publisher.close(0.5)
    finally:
        server.stop()
    assert not publisher.connected
    problems = [r.getMessage() for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
    assert problems == []
    assert "1 RES messages not delivered: NATS is unreachable" in caplog.text
