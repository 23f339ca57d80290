"""Run every benchmark script in ``bench/`` in turn (``make bench``); each prints its own figures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = ["fanout.py", "storm.py", "subscribe_path.py", "http_get.py", "bridge.py", "changes.py"]
#: No script may run longer than this (seconds).
LIMIT = 900


def main() -> int:
    failed = []
    for name in SCRIPTS:
        script = HERE / name
        if not script.exists():
            continue
        print(f"== {name}", flush=True)
        try:
            code = subprocess.run([sys.executable, str(script)], cwd=HERE.parent, timeout=LIMIT).returncode
        except subprocess.TimeoutExpired:
            code = "timed out"
        if code != 0:
            failed.append(f"{name} ({code})")
    if failed:
        print("failed: " + ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
