"""An existing Django site adopts django-res by the README, on the built wheel.

The test builds the distribution, installs it into a fresh virtualenv beside a site made by
``django-admin startproject``, and follows the README's section "Add django-res to your site" block by block:
each Python block names its file and how it goes there, each shell line runs as written (``pip install``
takes the built wheel, with the pinned versions of ``requirements.txt`` as constraints; ``nats-server`` runs
on a free port that ``NATS_URL`` names; ``rungateway`` gets a free port). Then an ORM save reaches a
WebSocket client as a change event, the REST API answers, static files are served in DEBUG, then by
WhiteNoise with DEBUG off, and Ctrl-C stops both commands.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from res_protocol import __version__
from tests.support import ROOT, Process, free_port

SECTION = "## Add django-res to your site"
PRODUCTION = "**Static files in production**"
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
FILE_HEADER = re.compile(r"# (\S+): (add at the end|the whole file|a new file)\b")
PIP_INSTALL = re.compile(r'pip install "django-res\[([\w,-]+)\]"')
#: Variables of this test run that must not leak into the site's processes.
TEST_ENV = (
    "DJANGO_SETTINGS_MODULE",
    "DATABASE_URL",
    "RES_GATEWAY",
    "RES_BRIDGE",
    "PYTHONPATH",
    "VIRTUAL_ENV",
)
CREATE = "from myapp.models import Book\nBook.objects.create(title='Dune', author='Herbert')\n"
SAVE = "from myapp.models import Book\nb = Book.objects.get(pk=1)\nb.title = 'Dune Messiah'\nb.save()\n"


@dataclass
class Step:
    kind: str  # "sh": one command line; "file": a Python block for a file; "shell": for manage.py shell
    text: str
    path: str = ""
    how: str = ""


def readme_steps() -> tuple[list[Step], list[Step]]:
    """The section's steps: setting up, and static files in production."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index(SECTION) :]
    section = section[: section.index("\n## ", len(SECTION))]
    setup, production = section.split(PRODUCTION)
    return parse_steps(setup), parse_steps(production)


def parse_steps(text: str) -> list[Step]:
    steps: list[Step] = []
    for language, body in BLOCK.findall(text):
        if language == "sh":
            lines = (line.split("#")[0].strip() for line in body.splitlines())
            steps += [Step("sh", line) for line in lines if line]
            continue
        first = body.splitlines()[0]
        if first.startswith("# python manage.py shell"):
            steps.append(Step("shell", body))
            continue
        header = FILE_HEADER.match(first)
        assert header, f"a README block names no file and how it goes there: {first!r}"
        steps.append(Step("file", body, header[1], header[2]))
    return steps


def constraints(path: Path) -> Path:
    """``requirements.txt``'s pins as a constraints file (constraints take no extras)."""
    pins = [
        re.sub(r"\[.*?\]", "", line)
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    ]
    path.write_text("\n".join(pins) + "\n")
    return path


def build_wheel(out: Path) -> Path:
    """``python -m build``: the sdist, then the wheel built from it."""
    subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = out.glob("django_res-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    tops = {name.split("/")[0] for name in names}
    assert tops == {"res_protocol", "res_gateway", "res_bridge", wheel.name.split("-py3")[0] + ".dist-info"}
    packages = {
        init.relative_to(ROOT).as_posix()
        for top in ("res_protocol", "res_gateway", "res_bridge")
        for init in (ROOT / top).rglob("__init__.py")
    }
    assert packages <= names, f"packages left out of the wheel: {sorted(packages - names)}"
    return wheel


@dataclass
class Site:
    """A site made by ``startproject`` in ``root``, with its own virtualenv."""

    root: Path
    venv: Path
    wheel: Path
    constraints: Path
    nats_port: int = field(default_factory=free_port)
    gateway_port: int = field(default_factory=free_port)
    processes: dict[str, Process] = field(default_factory=dict)

    @property
    def python(self) -> str:
        return str(self.venv / "bin" / "python")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in TEST_ENV}
        path = f"{self.venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        nats_url = f"nats://127.0.0.1:{self.nats_port}"
        # Process() adds this run's environment again: the site's own settings module must win.
        return {
            **env,
            "PYTHONUNBUFFERED": "1",
            "PATH": path,
            "NATS_URL": nats_url,
            "DJANGO_SETTINGS_MODULE": "mysite.settings",
        }

    def run(self, *args: str, stdin: str | None = None, timeout: float = 300) -> str:
        done = subprocess.run(
            list(args),
            cwd=self.root,
            env=self.env,
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
        return done.stdout + done.stderr

    def manage(self, *args: str, stdin: str | None = None) -> str:
        return self.run(self.python, "manage.py", *args, stdin=stdin)

    def pip_install(self, *requirements: str) -> None:
        self.run(self.python, "-m", "pip", "install", "-q", "-c", str(self.constraints), *requirements)

    def start(self, name: str, *args: str, wait_for: str) -> Process:
        """A long-running command, until it prints ``wait_for``."""
        args = tuple(str(self.root / arg) if arg == "manage.py" else arg for arg in args)
        process = Process(args, env=self.env, name=f"site-{name}")
        self.processes[name] = process
        deadline = time.monotonic() + 60
        while wait_for not in process.output():
            assert process.proc.poll() is None, f"{name} exited:\n{process.output()}"
            assert time.monotonic() < deadline, f"{name} printed no {wait_for!r}:\n{process.output()}"
            time.sleep(0.1)
        return process

    def interrupt(self, name: str) -> str:
        """Ctrl-C, as a terminal sends it; the command stops within 10 s with status 0."""
        process = self.processes.pop(name)
        os.killpg(process.pid, signal.SIGINT)
        code = process.proc.wait(10)
        output = process.output()
        process.stop()
        assert code == 0, output
        assert "Traceback" not in output
        return output

    def follow(self, step: Step) -> None:
        """One README step, as written."""
        if step.kind == "file":
            path = self.root / step.path
            if step.how == "add at the end":
                path.write_text(path.read_text() + "\n" + step.text)
            else:
                assert step.how == "the whole file" or not path.exists(), f"{step.path} exists already"
                path.write_text(step.text)
        elif step.kind == "shell":
            self.manage("shell", stdin=step.text)
        elif installed := PIP_INSTALL.fullmatch(step.text):
            self.pip_install(f"{self.wheel}[{installed[1]}]")
        elif step.text == "nats-server":
            nats = [str(self.venv / "bin" / "nats-server"), "-a", "127.0.0.1", "-p", str(self.nats_port)]
            self.start("nats", *nats, wait_for="Server is ready")
        elif step.text == "python manage.py runresservice":
            self.start("service", self.python, "manage.py", "runresservice", wait_for="serving library.>")
        elif step.text == "python manage.py rungateway":
            address = ["--addr", "127.0.0.1", "--port", str(self.gateway_port)]
            self.start("gateway", self.python, "manage.py", "rungateway", *address, wait_for="Listening on")
        else:
            command = step.text.split()
            assert command[:2] == ["python", "manage.py"], (
                f"a README command this test cannot run: {step.text}"
            )
            output = self.manage(*command[2:])
            assert "System check identified" not in output, output

    def stop(self) -> None:
        for process in self.processes.values():
            process.stop()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    """A fresh virtualenv with Django at the pinned version, and ``startproject mysite`` in it."""
    wheel = build_wheel(tmp_path / "dist")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    root = tmp_path / "mysite"
    root.mkdir()
    site = Site(root, venv, wheel, constraints(tmp_path / "constraints.txt"))
    site.pip_install("Django")
    site.run(str(venv / "bin" / "django-admin"), "startproject", "mysite", ".")
    yield site
    site.stop()


def django_version(site: Site) -> str:
    return site.run(site.python, "-c", "import django; print(django.__version__)").strip()


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_an_existing_site_follows_the_readme(site: Site) -> None:
    setup, production = readme_steps()
    django_before = django_version(site)
    for step in setup:
        site.follow(step)
    assert django_version(site) == django_before  # the site's Django stays as it was
    installed = site.run(site.python, "-c", "import res_gateway, res_bridge; print(res_gateway.__file__)")
    assert str(site.venv) in installed  # the wheel's code, not the checkout's

    gateway, service = site.processes["gateway"].output(), site.processes["service"].output()
    assert f"Starting gateway (django-res {__version__}," in gateway
    assert f"NATS nats://127.0.0.1:{site.nats_port}" in gateway
    assert f"Listening on http://127.0.0.1:{site.gateway_port}" in gateway
    assert f"Starting RES service (django-res {__version__}) for library.>" in service
    assert "System check identified" not in gateway + service

    site.manage("shell", stdin=CREATE)
    with connect(f"ws://127.0.0.1:{site.gateway_port}/", open_timeout=10) as ws:
        ws.send(json.dumps({"id": 1, "method": "subscribe.library.book.1"}))
        reply = json.loads(ws.recv(10))
        book = {"id": 1, "title": "Dune", "author": "Herbert"}
        assert reply == {"id": 1, "result": {"models": {"library.book.1": book}}}
        site.manage("shell", stdin=SAVE)  # an ORM save in another process
        event = json.loads(ws.recv(10))
        assert event == {"event": "library.book.1.change", "data": {"values": {"title": "Dune Messiah"}}}

    response = httpx.get(f"{site.url}/api/library/book/1", timeout=10)
    assert (response.status_code, response.json()) == (200, {**book, "title": "Dune Messiah"})
    assert httpx.get(f"{site.url}/static/admin/css/base.css", timeout=10).status_code == 200  # in DEBUG

    site.interrupt("gateway")
    settings = site.root / "mysite" / "settings.py"
    settings.write_text(settings.read_text() + '\nDEBUG = False\nALLOWED_HOSTS = ["127.0.0.1"]\n')
    for step in production:
        site.follow(step)
    static = httpx.get(f"{site.url}/static/admin/css/base.css", timeout=10)
    assert static.status_code == 200 and "max-age" in static.headers["cache-control"]  # WhiteNoise's
    assert httpx.get(f"{site.url}/api/library/book/1", timeout=10).json()["title"] == "Dune Messiah"

    assert "Gateway stopped" in site.interrupt("gateway")
    site.interrupt("service")

    site.processes.pop("nats").stop()  # NATS goes away: one line per attempt, and Ctrl-C still stops
    unreachable = f"NATS at nats://127.0.0.1:{site.nats_port} is unreachable"
    site.start("service", site.python, "manage.py", "runresservice", wait_for=unreachable)
    assert "stopped before NATS answered" in site.interrupt("service")
