"""The demo project's settings: DEBUG and a fixed key for development only, a generated secret and real hosts
otherwise (the Docker stack runs that way)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from tests.support import ROOT

SHOW = "import django, json; django.setup(); from django.conf import settings as s; "
SHOW += "print(json.dumps([s.DEBUG, s.SECRET_KEY, s.ALLOWED_HOSTS]))"


def settings_with(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    full = {**clean, "DJANGO_SETTINGS_MODULE": "resproject.settings", **env}
    return subprocess.run([sys.executable, "-c", SHOW], cwd=ROOT, env=full, capture_output=True, text=True)


def test_development_keeps_debug_and_a_fixed_key() -> None:
    debug, key, hosts = json.loads(settings_with().stdout)
    assert (debug, key, hosts) == (True, "django-res-insecure-development-key", ["*"])


def test_production_needs_a_secret() -> None:
    shown = settings_with(DJANGO_DEBUG="0")
    assert shown.returncode != 0
    assert "With DJANGO_DEBUG off, set DJANGO_SECRET_KEY or DJANGO_SECRET_KEY_FILE" in shown.stderr
    debug, key, hosts = json.loads(settings_with(DJANGO_DEBUG="0", DJANGO_SECRET_KEY="k" * 50).stdout)
    assert (debug, key, hosts) == (False, "k" * 50, ["localhost", "127.0.0.1"])


def test_a_secret_generated_once_per_deployment(tmp_path: Path) -> None:
    path = tmp_path / "secret_key"
    env = {
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY_FILE": str(path),
        "DJANGO_ALLOWED_HOSTS": "library.example",
    }
    _, first, hosts = json.loads(settings_with(**env).stdout)
    _, again, _ = json.loads(settings_with(**env).stdout)
    assert len(first) >= 50 and first == again == path.read_text().strip()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and hosts == ["library.example"]
    assert json.loads(settings_with(**env, DJANGO_SECRET_KEY="given").stdout)[1] == "given"
    other = tmp_path / "other"
    assert json.loads(settings_with(**{**env, "DJANGO_SECRET_KEY_FILE": str(other)}).stdout)[1] != first


def test_the_docker_stack_uses_a_generated_secret_and_no_debug() -> None:
    compose = (ROOT / "docker-compose.yml").read_text()
    assert "DJANGO_SECRET_KEY_FILE: /var/lib/django-res/secret_key" in compose
    assert "DJANGO_SECRET_KEY: ${DJANGO_SECRET_KEY:-}" in compose and 'DJANGO_DEBUG: "0"' in compose
    assert "DJANGO_ALLOWED_HOSTS: ${DJANGO_ALLOWED_HOSTS:-localhost,127.0.0.1}" in compose
    assert "install -d -o django-res -m 700 /var/lib/django-res" in (ROOT / "Dockerfile").read_text()
