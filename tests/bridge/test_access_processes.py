"""Across processes: a rule changed in one Django process is obeyed at once by the service in another."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nats
import pytest

from res_protocol import dumps, loads
from tests.support import ROOT, Process, manage

pytestmark = pytest.mark.slow

SETUP = """
from django.core.management import call_command
call_command("migrate", verbosity=0)
call_command("loaddemo")
"""

REVOKE_BOB = """
from res_bridge.models import AccessRule
for rule in AccessRule.objects.filter(user__username="bob"):
    rule.can_get = False
    rule.save()
"""

GRANT_CAROL = """
from django.contrib.auth.models import User
from res_bridge.models import AccessRule
carol = User.objects.get(username="carol")
AccessRule.objects.create(pattern="library.shelves", applies_to="user", user=carol)
"""


@pytest.fixture
def site_env(tmp_path: Path, nats_url: str) -> dict[str, str]:
    """A database of its own, with the demo data, for every process of the test."""
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "NATS_URL": nats_url,
        "RES_BRIDGE": json.dumps({"QUEUE_GROUP": f"test-{uuid.uuid4().hex}"}),
    }
    run_manage(env, "shell", "-c", SETUP)
    return env


def run_manage(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env={**os.environ, **env},
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=60,
    )


@pytest.fixture
def service_process(site_env: dict[str, str]) -> Iterator[Process]:
    process = manage("runresservice", env=site_env)
    yield process
    process.stop()


async def request(nc: Any, subject: str, payload: dict[str, Any]) -> Any:
    return loads((await nc.request(subject, dumps(payload), timeout=5)).data)


async def until_serving(nc: Any) -> None:
    """The service process answers once it has started (it may still be loading Django)."""
    async with asyncio.timeout(30):
        while True:
            try:
                await request(nc, "access.library.books", {"cid": "c0", "token": None})
                return
            except nats.errors.NoRespondersError:
                await asyncio.sleep(0.1)


def token(user_id: int) -> dict[str, Any]:
    return {"user_id": user_id, "tid": f"user.{user_id}"}


async def test_rule_changes_from_another_process_are_obeyed_at_once(
    nats_url: str, site_env: dict[str, str], service_process: Process
) -> None:
    nc = await nats.connect(nats_url)
    try:
        await until_serving(nc)
        bob, carol = token(3), token(4)  # loaddemo's users: admin, alice, bob, carol
        assert await request(nc, "access.library.shelves", {"cid": "c1", "token": bob}) == {
            "result": {"get": True}
        }
        denied = {"error": {"code": "system.accessDenied", "message": "Access denied"}}
        assert await request(nc, "access.library.shelves", {"cid": "c2", "token": carol}) == denied

        resets = await nc.subscribe("system.reset")
        await asyncio.to_thread(run_manage, site_env, "shell", "-c", REVOKE_BOB)
        published = [loads((await resets.next_msg(timeout=10)).data) for _ in range(2)]
        assert sorted(published, key=str) == [
            {"access": ["library.shelf.>"]},
            {"access": ["library.shelves"]},
        ]
        assert await request(nc, "access.library.shelves", {"cid": "c1", "token": bob}) == denied

        await asyncio.to_thread(run_manage, site_env, "shell", "-c", GRANT_CAROL)
        assert loads((await resets.next_msg(timeout=10)).data) == {"access": ["library.shelves"]}
        assert await request(nc, "access.library.shelves", {"cid": "c2", "token": carol}) == {
            "result": {"get": True}
        }
    finally:
        await nc.close()
