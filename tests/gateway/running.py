"""``manage.py rungateway`` as a child process, for tests of the command and the servers it runs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from tests.support import Process, free_port, manage, wait_for_port


@dataclass
class RunningGateway:
    process: Process
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    def output(self) -> str:
        return self.process.output()


StartGateway = Callable[..., RunningGateway]


@pytest.fixture(name="rungateway")
def rungateway_fixture(nats_url: str) -> Iterator[StartGateway]:
    """``rungateway(*flags, env=None, port=None, metrics_port=None)``: start the command, wait for its ports.

    Without ``port`` it listens on 127.0.0.1 and a free port; with ``port`` the flags, config file or
    ``RES_GATEWAY`` (JSON in ``env``) must say where. ``metrics_port`` adds ``-m``. Every gateway started is
    stopped after the test.
    """
    started: list[Process] = []

    def start(
        *flags: str,
        env: dict[str, str] | None = None,
        port: int | None = None,
        metrics_port: int | None = None,
    ) -> RunningGateway:
        if port is None:
            port = free_port()
            flags = (*flags, "-i", "127.0.0.1", "-p", str(port))
        if metrics_port is not None:
            flags = (*flags, "-m", str(metrics_port))
        if "--workers" not in flags:
            flags = (*flags, "--workers", "1")  # one cache, one set of metrics (test_workers.py runs more)
        full_env = {"NATS_URL": nats_url, "RES_GATEWAY": "{}", "PYTHONUNBUFFERED": "1", **(env or {})}
        process = manage("rungateway", *flags, env=full_env)
        started.append(process)
        try:
            for listening in (port, metrics_port):
                if listening is not None:
                    wait_for_port(listening, proc=process.proc)
        except (RuntimeError, TimeoutError):
            pytest.fail(f"rungateway did not listen on {port} (metrics: {metrics_port}):\n{process.output()}")
        return RunningGateway(process, port)

    yield start
    for process in started:
        process.stop()
