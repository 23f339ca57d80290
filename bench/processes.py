"""The gateway under test, and the CPU time and memory of the processes a benchmark watches.

By default the gateway is ``manage.py rungateway`` on a free loopback port. ``--gateway COMMAND`` in a
benchmark runs another RES gateway there instead, so that two gateways can be measured in one sitting on
one machine: ``{nats}`` and ``{port}`` in the command are replaced by the NATS URL and the port to listen on,
e.g. ``--gateway "/path/to/resgate --nats {nats} --addr 127.0.0.1 --port {port}"``.
"""

from __future__ import annotations

import json
import os
import shlex
import time
from pathlib import Path
from typing import Any

from tests.support import Process, free_port, manage, processes

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def start_gateway(
    nats_url: str,
    command: str | None = None,
    config: dict[str, Any] | None = None,
    workers: int | None = None,
) -> tuple[Process, int]:
    """Start the gateway and wait until it listens; the process and its port.

    ``config`` holds resgate's JSON keys and ``workers`` the ``--workers`` flag for ``rungateway``; another
    ``command`` takes its own flags.
    """
    port = free_port()
    env = {"LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1", "RES_GATEWAY": json.dumps(config or {})}
    if command:
        args = shlex.split(command.format(nats=nats_url, port=port))
        gateway = Process(args, env=env)
    else:
        flags = ["--nats", nats_url, "--addr", "127.0.0.1", "--port", str(port)]
        if workers is not None:
            flags += ["--workers", str(workers)]
        gateway = manage("rungateway", *flags, env=env)
    return gateway.wait_listening(port, timeout=30), port


def group_pids(pgid: int) -> list[int]:
    """Every live process in the process group (the gateway and any worker it forked)."""
    return [pid for pid, fields in processes().items() if int(fields[2]) == pgid]


def cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU time used so far by the processes."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLOCK_TICKS


class CpuMeter:
    """CPU seconds each named group of processes uses between :meth:`start` and :meth:`used`."""

    def __init__(self, procs: dict[str, list[int]]) -> None:
        self.procs = procs
        self.before: dict[str, float] = {}

    def start(self) -> None:
        self.before = {name: cpu_seconds(pids) for name, pids in self.procs.items()}

    def used(self) -> dict[str, float]:
        return {name: cpu_seconds(pids) - self.before[name] for name, pids in self.procs.items()}

    @staticmethod
    def text(used: dict[str, float]) -> str:
        return "CPU s used: " + ", ".join(f"{name} {seconds:.1f}" for name, seconds in used.items())


def rss_bytes(pgid: int, field: str = "VmRSS:", file: str = "status") -> int:
    """The resident memory of every process in the group (a page shared by forked workers counts in each)."""
    total = 0
    for pid in group_pids(pgid):
        for line in Path(f"/proc/{pid}/{file}").read_text().splitlines():
            if line.startswith(field):
                total += int(line.split()[1]) * 1024
    return total


def start_relay(database_url: str, nats_url: str) -> Process:
    """Start ``manage.py resoutbox relay`` on the database and wait until it sends."""
    env = {"DATABASE_URL": database_url, "NATS_URL": nats_url, "LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1"}
    process = manage("resoutbox", "relay", env=env, name="relay")
    for _ in range(300):
        if "outbox relay sending" in process.output():
            return process
        if process.proc.poll() is not None:
            break
        time.sleep(0.1)
    process.stop()
    raise RuntimeError(f"the relay did not start:\n{process.output()}")


def pss_bytes(pgid: int) -> int:
    """The proportional resident memory of the group: a page shared by n processes counts 1/n in each."""
    return rss_bytes(pgid, "Pss:", "smaps_rollup")
