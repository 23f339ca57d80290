"""The gateway process the interop tests run: ``manage.py rungateway``, restartable on the same port."""

from __future__ import annotations

import json

from tests.support import Process, free_port, manage


def run_gateway(nats_url: str, port: int) -> Process:
    """``manage.py rungateway`` on ``port``, waited for until it listens; the caller stops it."""
    env = {"RES_GATEWAY": json.dumps({"unsubscribeDelay": 0}), "PYTHONUNBUFFERED": "1"}
    args = ["--nats", nats_url, "--addr", "127.0.0.1", "--port", str(port), "--workers", "1"]
    return manage("rungateway", *args, env=env, name="interop-gateway").wait_listening(port, timeout=30)


class Gateway:
    """The gateway under test; :meth:`stop` and :meth:`start` keep its port."""

    def __init__(self, nats_url: str) -> None:
        self.nats_url = nats_url
        self.port = free_port()
        self.current: Process | None = run_gateway(nats_url, self.port)

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    def stop(self) -> None:
        if self.current is not None:
            self.current.stop()
            self.current = None

    def start(self) -> None:
        self.current = run_gateway(self.nats_url, self.port)
