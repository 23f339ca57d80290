"""Console output of the long-running commands when the site's logging gives their loggers no handler.

Each case runs in a fresh interpreter: the test run's own logging set-up would otherwise handle everything.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support import ROOT

SCRIPT = """
import logging, sys
from res_protocol.console import log_to_console, verbosity_level
if {site_handler}:
    logging.getLogger("res").addHandler(logging.StreamHandler(sys.stdout))
log_to_console({{"res.app": verbosity_level({verbosity})}}, sys.stderr)
logger = logging.getLogger("res.app")
for level in ("debug", "info", "warning", "error"):
    getattr(logger, level)("a %s line", level)
"""


def run(verbosity: int, site_handler: bool) -> tuple[list[str], list[str]]:
    """(stdout lines, stderr lines without their time) of the script."""
    script = SCRIPT.format(verbosity=verbosity, site_handler=site_handler)
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=30, check=True
    )
    return done.stdout.splitlines(), [line.split(" ", 1)[1] for line in done.stderr.splitlines()]


@pytest.mark.parametrize(
    ("verbosity", "shown"),
    [
        (0, ["warning", "error"]),
        (1, ["info", "warning", "error"]),
        (2, ["debug", "info", "warning", "error"]),
    ],
)
def test_verbosity_chooses_what_the_console_shows(verbosity, shown):
    assert run(verbosity, site_handler=False) == ([], [f"{lvl.upper()} a {lvl} line" for lvl in shown])


def test_a_logger_the_site_handles_is_left_alone():
    assert run(1, site_handler=True) == (["a warning line", "a error line"], [])
