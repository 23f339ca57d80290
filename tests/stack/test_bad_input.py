"""``make run`` refuses bad input with one clear line, a non-zero exit, and nothing left running."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from tests.stack.procs import marked
from tests.support import ROOT, free_port


@contextmanager
def listening() -> Iterator[int]:
    """A port something else already listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


def port_taken(port: int) -> dict[str, str]:
    return {"PORT": str(port)}


def nats_nowhere(port: int) -> dict[str, str]:
    return {"NATS_URL": f"nats://127.0.0.1:{free_port()}"}


def nats_port_taken(port: int) -> dict[str, str]:
    return {"NATS_PORT": str(port)}


def database_nowhere(port: int) -> dict[str, str]:
    return {"DATABASE_URL": f"postgres://postgres:secret@127.0.0.1:{free_port()}/none"}


def database_unopenable(port: int) -> dict[str, str]:
    return {"DATABASE_URL": "sqlite:////nonexistent-directory/db.sqlite3"}


def port_not_a_number(port: int) -> dict[str, str]:
    return {"PORT": "80a"}


CASES = [
    (port_taken, "the gateway port", "PORT="),
    (port_not_a_number, "PORT=80a is not a port number", "1 to 65535"),
    (nats_nowhere, "does not answer", "unset NATS_URL"),
    (nats_port_taken, "NATS port", "NATS_PORT"),
    (database_nowhere, "cannot reach the database", "DATABASE_URL"),
    (database_unopenable, "cannot reach the database", "DATABASE_URL"),
]


@pytest.mark.parametrize(("case", "problem", "advice"), CASES, ids=[c[0].__name__ for c in CASES])
def test_bad_input_gets_one_clear_line(
    case: Callable[[int], dict[str, str]], problem: str, advice: str, tmp_path
) -> None:
    marker = f"stack-test-{uuid.uuid4()}"
    with listening() as busy:
        env = {
            **os.environ,
            "PORT": str(free_port()),
            "NATS_URL": "",
            "NATS_PORT": str(free_port()),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "STACK_TEST_MARKER": marker,
            **case(busy),
        }
        result = subprocess.run(
            [sys.executable, "-m", "resproject.stack"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and problem in lines[0] and advice in lines[0]
    assert "secret" not in result.stderr
    assert marked(marker) == set()
