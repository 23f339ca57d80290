"""Headless Chromium (Debian's package, never a downloaded one) on the demo stack the runner starts."""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import ROOT, NatsServer, Process, free_port, require

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The demo stack (service and gateway, started by the runner) on its own NATS server and SQLite file."""
    nats = NatsServer()
    port = free_port()
    env = {
        "PORT": str(port),
        "NATS_URL": nats.url,
        "DATABASE_URL": f"sqlite:///{tmp_path_factory.mktemp('browser') / 'db.sqlite3'}",
        "NO_COLOR": "1",
        "RES_GATEWAY": '{"unsubscribeDelay": 0}',
    }
    runner = Process([sys.executable, "-m", "resproject.stack"], env=env, name="stack")
    try:
        deadline = time.monotonic() + 120
        while "django-res is running" not in runner.output():
            if runner.proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the stack did not start:\n{runner.output()}")
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        runner.stop()
        nats.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    require(shutil.which("chromium") is not None and Path(CHROMIUM).exists(), "needs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def open_page(browser, demo_url: str, request: pytest.FixtureRequest):
    """``open_page()``: a new window (its own cookies) on the demo page; screenshots of each at teardown."""
    contexts = []

    def open_page():
        context = browser.new_context()
        contexts.append(context)
        page = context.new_page()
        page.goto(demo_url + "/")
        return page

    yield open_page
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for index, context in enumerate(contexts):
        for page in context.pages:
            page.screenshot(path=str(SCREENSHOTS / f"{request.node.name}-{index}.png"), full_page=True)
        context.close()
