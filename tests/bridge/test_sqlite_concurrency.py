"""Concurrent calls on SQLite, the embedded default: none fails with "database is locked".

A service process on a file database, as ``make run`` runs it; 4 NATS clients keep 8 ``set`` calls each in
flight on 3 books, 200 calls in all. Without immediate transactions, two transactions that read before they
write deadlock on the lock upgrade and one fails at once (a busy timeout cannot help there).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from pathlib import Path

import nats
import pytest

from tests.bridge.test_access_processes import SETUP, request, run_manage, until_serving
from tests.support import manage

pytestmark = pytest.mark.slow

CLIENTS, IN_FLIGHT, CALLS, BOOKS = 4, 8, 200, 3


async def test_concurrent_calls_on_a_sqlite_file_all_succeed(tmp_path: Path, nats_url: str) -> None:
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "NATS_URL": nats_url,
        "RES_BRIDGE": json.dumps({"QUEUE_GROUP": f"test-{uuid.uuid4().hex}"}),
    }
    run_manage(env, "shell", "-c", SETUP)
    process = manage("runresservice", env=env)
    clients = [await nats.connect(nats_url) for _ in range(CLIENTS)]
    try:
        await until_serving(clients[0])
        books = (await request(clients[0], "get.library.books", {}))["result"]["collection"][:BOOKS]
        rids = [book["rid"] for book in books]
        calls = iter(range(CALLS))
        replies: list[dict] = []

        async def caller(nc: nats.NATS) -> None:
            for n in calls:  # shared by every caller: CALLS in all
                rid = rids[n % BOOKS]
                replies.append(await request(nc, f"call.{rid}.set", {"params": {"title": f"Title {n}"}}))

        async with asyncio.timeout(120):
            await asyncio.gather(*(caller(nc) for nc in itertools.chain(*[clients] * IN_FLIGHT)))
    finally:
        for nc in clients:
            await nc.close()
        process.stop()
    failed = [reply for reply in replies if "error" in reply]
    assert (len(replies), failed) == (CALLS, []), process.output()
    assert "database is locked" not in process.output()
