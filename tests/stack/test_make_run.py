"""``make run`` as a user runs it: the page, the REST API and the WebSocket answer; Ctrl-C leaves nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from websockets.sync.client import connect

from tests.stack.procs import alive, descendants, marked
from tests.support import ROOT, Process, free_port

READY = "django-res is running"


@dataclass
class Run:
    """``make run`` with its own ports, database and marker; started (again) with :meth:`start`."""

    env: dict[str, str]
    marker: str
    process: Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.env['PORT']}"

    def start(self) -> Process:
        self.process = Process(["make", "--no-print-directory", "run"], env=self.env, name="make-run")
        return self.process

    def wait_for(self, text: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while text not in (output := self.process.output()):
            if self.process.proc.poll() is not None:
                pytest.fail(f"make run exited with {self.process.proc.returncode}:\n{output}")
            if time.monotonic() > deadline:
                pytest.fail(f"no {text!r} within {timeout}s:\n{output}")
            time.sleep(0.2)
        return output

    def interrupt(self) -> None:
        """Ctrl-C in a terminal: SIGINT to the whole foreground process group."""
        os.killpg(self.process.pid, signal.SIGINT)
        self.process.proc.wait(60)


@pytest.fixture
def make_run(tmp_path) -> Iterator[Run]:
    marker = f"make-run-{uuid.uuid4()}"
    env = {
        "PORT": str(free_port()),
        "NATS_URL": "",  # empty: run a local nats-server
        "NATS_PORT": str(free_port()),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "NO_COLOR": "1",
        "STACK_TEST_MARKER": marker,
    }
    run = Run(env, marker)
    yield run
    if run.process:
        run.process.stop()
    for pid in marked(marker):
        os.kill(pid, signal.SIGKILL)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_make_run_serves_the_demo_and_stops_cleanly(make_run: Run) -> None:
    make_run.start()
    output = make_run.wait_for(READY, timeout=240)
    for expected in (f"{make_run.url}/", f"{make_run.url}/admin/", "alice", "bob", "carol", "Ctrl-C"):
        assert expected in output
    for name in ("nats", "setup", "service", "gateway"):
        make_run.wait_for(f"\n{name:<8}| ", timeout=10)  # each component's lines, prefixed with its name

    page = httpx.get(f"{make_run.url}/")
    assert page.status_code == 200
    assert "resclient.min.js" in page.text
    assert httpx.get(f"{make_run.url}/static/resclient/resclient.min.js").status_code == 200

    books = httpx.get(f"{make_run.url}/api/library/books")
    assert books.status_code == 200, books.text
    assert isinstance(books.json(), list) and books.json(), "the demo data has books"
    assert httpx.get(f"{make_run.url}/api/library/book/1").status_code == 200
    not_canonical = httpx.get(f"{make_run.url}/api/library/book/01")  # book 1 under another RID
    assert (not_canonical.status_code, not_canonical.json()["code"]) == (404, "system.notFound")

    with connect(f"ws://127.0.0.1:{make_run.env['PORT']}/") as ws:
        ws.send(json.dumps({"id": 1, "method": "version", "params": {"protocol": "1.2.3"}}))
        assert json.loads(ws.recv(10))["result"]["protocol"]
        ws.send(json.dumps({"id": 2, "method": "subscribe.library.books"}))
        result = json.loads(ws.recv(10))["result"]
        assert len(result["collections"]["library.books"]) == len(books.json())

    started = descendants(make_run.process.pid)
    assert len(started) >= 4  # the runner, nats-server, the service, the gateway
    make_run.interrupt()
    assert "stopped: nothing is left running" in make_run.process.output()
    assert not [pid for pid in started if alive(pid)]
    assert marked(make_run.marker) == set()


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_used_database_is_kept_and_a_dead_component_stops_the_rest(make_run: Run, nats_url: str) -> None:
    env = {**os.environ, **make_run.env, "NATS_URL": nats_url}
    rename = "from library.models import Book; Book.objects.filter(pk=1).update(title='Kept')"
    for step in (["-m", "resproject.stack", "prepare"], ["manage.py", "shell", "-c", rename]):
        done = subprocess.run([sys.executable, *step], cwd=ROOT, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr

    run = make_run.start()
    assert "loading the demo data" not in make_run.wait_for(READY, timeout=240)
    assert httpx.get(f"{make_run.url}/api/library/book/1").json()["title"] == "Kept"

    nats = next(pid for pid in descendants(run.pid) if b"nats-server" in _cmdline(pid))
    os.kill(nats, signal.SIGKILL)
    run.proc.wait(60)
    assert "error: nats was killed by signal 9; the rest was stopped" in run.output()
    assert marked(make_run.marker) == set()


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return b""
