"""``rungateway --workers N``: N processes on one port, each its own gateway and metrics; one stop for all."""

from __future__ import annotations

import os
import re
import signal
import socket
import time
from collections.abc import Callable

import httpx
import pytest
from django.core.management import CommandError, call_command

from res_gateway.server import default_workers
from tests.gateway.running import RunningGateway, StartGateway, rungateway_fixture  # noqa: F401
from tests.harness import Client
from tests.support import free_port, manage, processes, wait_for_port


def children(pid: int) -> list[int]:
    """The live child processes of ``pid``."""
    return [child for child, fields in processes().items() if int(fields[1]) == pid and fields[0] != "Z"]


def workers(gateway: RunningGateway, count: int) -> list[int]:
    """The gateway's worker processes, once all ``count`` have started."""
    deadline = time.monotonic() + 15
    while len(found := children(gateway.process.pid)) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(found) == count, gateway.output()
    return found


def wait_serving(output: Callable[[], str], count: int) -> None:
    """Wait until ``count`` servers say they listen: the port is bound before, so it tells nothing."""
    deadline = time.monotonic() + 30
    while output().count("Listening on") < count:
        assert time.monotonic() < deadline, output()
        time.sleep(0.05)


def free_port_pair() -> int:
    """A free port whose next port is free too (worker 1 serves its metrics there)."""
    for _ in range(50):
        port = free_port()
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no two free ports in a row")


def current_connections(metrics_port: int) -> int:
    text = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text
    return int(re.search(r"^resgate_ws_current_connections (\d+)$", text, re.M).group(1))


def wait_exit(gateway: RunningGateway, timeout: float = 20) -> int:
    return gateway.process.proc.wait(timeout)


def alive(pids: list[int]) -> list[int]:
    return [pid for pid in pids if os.path.exists(f"/proc/{pid}")]


async def test_workers_share_the_port_with_their_own_metrics(rungateway: StartGateway) -> None:
    metrics_port = free_port_pair()
    gateway = rungateway("--workers", "2", metrics_port=metrics_port)
    wait_for_port(metrics_port + 1, proc=gateway.process.proc)
    workers(gateway, 2)
    clients = [await Client.connect(gateway.ws_url) for _ in range(16)]
    try:
        for client in clients:
            assert (await client.request("version", {"protocol": "1.2.3"}))["result"]["protocol"] == "1.2.3"
        counts = [current_connections(metrics_port), current_connections(metrics_port + 1)]
        assert sum(counts) == 16 and min(counts) > 0, counts
    finally:
        for client in clients:
            await client.close()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
async def test_a_signal_to_the_gateway_stops_every_worker(rungateway: StartGateway, sig: int) -> None:
    gateway = rungateway("--workers", "2")
    pids = workers(gateway, 2)
    wait_serving(gateway.output, 2)  # a worker signalled while it starts just ends, without its last line
    client = await Client.connect(gateway.ws_url)
    await client.request("version")
    os.kill(gateway.process.pid, sig)
    assert wait_exit(gateway) == 0, gateway.output()
    await client.wait_closed()
    assert not alive(pids)
    assert gateway.output().count("Gateway stopped") == 2


def test_a_signal_while_the_workers_start_stops_them_all(rungateway: StartGateway) -> None:
    gateway = rungateway("--workers", "2")  # the port listens before the workers are forked
    os.kill(gateway.process.pid, signal.SIGTERM)
    forked = children(gateway.process.pid)
    assert wait_exit(gateway) == 0, gateway.output()
    assert not alive(forked)


async def test_a_worker_that_dies_stops_the_others(rungateway: StartGateway) -> None:
    gateway = rungateway("--workers", "3")
    pids = workers(gateway, 3)
    os.kill(pids[1], signal.SIGKILL)
    assert wait_exit(gateway) == 1
    assert f"(pid {pids[1]}) stopped on its own (exit code -9)" in gateway.output()
    assert not alive(pids)


def test_workers_stop_when_the_command_is_killed(rungateway: StartGateway) -> None:
    gateway = rungateway("--workers", "2")
    pids = workers(gateway, 2)
    os.kill(gateway.process.pid, signal.SIGKILL)
    deadline = time.monotonic() + 15
    while alive(pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(pids)


def test_default_is_one_worker_per_two_cores() -> None:
    assert default_workers() == max(1, len(os.sched_getaffinity(0)) // 2)
    forked = default_workers() if default_workers() > 1 else 0  # one worker serves in the command itself
    port = free_port()
    process = manage("rungateway", "-i", "127.0.0.1", "-p", str(port), env={"RES_GATEWAY": "{}"})
    try:
        process.wait_listening(port, timeout=30)
        wait_serving(process.output, 1)
        deadline = time.monotonic() + 10
        while len(children(process.pid)) != forked and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(children(process.pid)) == forked
    finally:
        assert process.stop() == 0


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["--workers", "0"], "at least 1"),
        (["--workers", "2", "--server", "daphne"], "needs the uvicorn server"),
    ],
)
def test_bad_worker_counts_are_refused(args: list[str], text: str) -> None:
    with pytest.raises(CommandError, match=text):
        call_command("rungateway", *args)
