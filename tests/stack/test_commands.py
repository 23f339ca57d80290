"""The long-running commands while NATS is unreachable: one line per attempt naming the URL, and a prompt,
clean stop on Ctrl-C (SIGINT to the process group, as a terminal sends it) or SIGTERM."""

from __future__ import annotations

import os
import signal
import time

import pytest

from tests.support import Process, free_port, manage


def wait_for(process: Process, text: str, count: int = 1, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while process.output().count(text) < count:
        assert process.proc.poll() is None, process.output()
        assert time.monotonic() < deadline, f"{text!r} not printed {count} times:\n{process.output()}"
        time.sleep(0.05)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
@pytest.mark.parametrize("command", ["runresservice", "rungateway"])
def test_stops_promptly_while_nats_is_unreachable(tmp_path, command, sig):
    url = f"nats://127.0.0.1:{free_port()}"
    args = [command, "--port", str(free_port())] if command == "rungateway" else [command]
    env = {"NATS_URL": url, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    process = manage(*args, env=env)
    try:
        wait_for(process, f"NATS at {url} is unreachable", count=2)  # retried, one line per attempt
        os.killpg(process.pid, sig)
        started = time.monotonic()
        code = process.proc.wait(10)
        stopped_in = time.monotonic() - started
    finally:
        process.stop()
    output = process.output()
    assert code == 0, output
    assert stopped_in < 5, output
    assert "Traceback" not in output
    assert "disconnected" not in output  # it never was connected


def test_unreachable_database_at_start_is_one_line_and_a_non_zero_exit(tmp_path):
    env = {
        "NATS_URL": f"nats://127.0.0.1:{free_port()}",
        "DATABASE_URL": "sqlite:////nonexistent-directory/db",
    }
    process = manage("runresservice", env=env)
    try:
        code = process.proc.wait(20)
    finally:
        process.stop()
    lines = process.output().strip().splitlines()
    assert code == 1, process.output()
    assert len(lines) == 1, process.output()
    assert "cannot reach the sqlite database /nonexistent-directory/db" in lines[0]
    assert "unable to open database file" in lines[0]
