"""The runner's supervision with small real processes: failed steps and deaths are named, the rest stopped."""

from __future__ import annotations

import sys

import pytest

from resproject.stack import Component, Stack, listening
from tests.stack.procs import alive
from tests.support import free_port


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def server(port: int) -> Component:
    return Component(
        "server", [sys.executable, "-m", "http.server", "-b", "127.0.0.1", str(port)], listening(port)
    )


async def test_a_failed_step_is_named_and_nothing_after_it_starts(capsys: pytest.CaptureFixture[str]) -> None:
    sleeper = Component("sleeper", python("import time; time.sleep(60)"))
    step = Component("setup", python("print('cannot migrate'); raise SystemExit(3)"), oneshot=True)
    after = server(free_port())
    stack = Stack([sleeper, step, after], env={}, banner="READY")

    assert await stack.run() == 1

    out = capsys.readouterr().out
    assert "setup   | cannot migrate" in out
    assert "error: setup failed (exit code 3); the rest was stopped" in out
    assert "READY" not in out
    assert after.proc is None
    assert not alive(sleeper.proc.pid)


async def test_a_component_that_dies_stops_the_others(capsys: pytest.CaptureFixture[str]) -> None:
    first = server(free_port())
    short = Component("short", python("import time; print('up', flush=True); time.sleep(1)"))
    last = server(free_port())
    stack = Stack([first, short, last], env={}, banner="READY")

    assert await stack.run() == 1

    out = capsys.readouterr().out
    assert "READY" in out and "short   | up" in out
    assert "error: short stopped unexpectedly (exit code 0); the rest was stopped" in out
    assert not alive(first.proc.pid) and not alive(last.proc.pid)
