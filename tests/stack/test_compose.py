"""docker-compose.yml and the Dockerfile, checked without a Docker engine: they parse, and everything they run
or set exists in the project."""

from __future__ import annotations

import importlib.util
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.management import get_commands

from tests.support import ROOT

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
#: Services built from this project (the others run public images: nats, redis, postgres).
PROJECT = {name: s for name, s in SERVICES.items() if "build" in s}
DOCKERFILE = (ROOT / "Dockerfile").read_text()
SETTINGS_SOURCE = (ROOT / "resproject" / "settings.py").read_text()
#: Environment variables the settings read.
SETTINGS_ENV = set(re.findall(r'(?:environ\.get|env_bool|env_list)\(\s*"([A-Z0-9_]+)"', SETTINGS_SOURCE))


def check_command(argv: list[str]) -> None:
    """A project command: ``python manage.py <subcommand> ...`` or ``python -m <module> ...``."""
    assert argv[0] == "python", argv
    if argv[1] == "manage.py":
        assert argv[2] in get_commands(), f"manage.py has no {argv[2]!r} command"
    elif argv[1] == "-m":
        assert importlib.util.find_spec(argv[2]) is not None, f"no module {argv[2]}"
    elif argv[1] == "-c":
        compile(argv[2], "<healthcheck>", "exec")
    else:
        pytest.fail(f"unexpected command {argv}")


def test_the_stack_has_every_part() -> None:
    assert {"nats", "redis", "postgres", "service", "gateway"} <= set(SERVICES)
    assert set(PROJECT) == {"migrate", "service", "gateway"}


@pytest.mark.parametrize("name", sorted(PROJECT))
def test_project_services_run_project_commands(name: str) -> None:
    check_command(PROJECT[name]["command"])


@pytest.mark.parametrize("name", ["nats", "redis", "postgres", "gateway"])
def test_long_running_parts_have_health_checks(name: str) -> None:
    test = SERVICES[name]["healthcheck"]["test"]
    assert test[0] in ("CMD", "CMD-SHELL") and len(test) > 1
    if name == "gateway":
        check_command(test[1:])


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_dependencies_exist_and_can_be_waited_for(name: str) -> None:
    for dependency, rule in SERVICES[name].get("depends_on", {}).items():
        assert dependency in SERVICES
        if rule["condition"] == "service_healthy":
            assert "healthcheck" in SERVICES[dependency], f"{dependency} has no health check"


def test_gateway_and_service_start_after_migrations() -> None:
    for name in ("service", "gateway"):
        assert SERVICES[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


@pytest.mark.parametrize("name", sorted(PROJECT))
def test_every_variable_set_is_read_by_the_settings(name: str) -> None:
    environment = PROJECT[name]["environment"]
    assert {"DATABASE_URL", "REDIS_URL", "NATS_URL"} <= set(environment)
    assert set(environment) <= SETTINGS_ENV, set(environment) - SETTINGS_ENV


def test_the_urls_point_at_the_compose_services() -> None:
    environment = PROJECT["gateway"]["environment"]
    assert (
        environment["DATABASE_URL"].startswith("postgres://")
        and "@postgres:5432/" in environment["DATABASE_URL"]
    )
    assert environment["REDIS_URL"].startswith("redis://redis:6379")
    assert environment["NATS_URL"] == "nats://nats:4222"
    postgres = SERVICES["postgres"]["environment"]
    user, password, database = (
        postgres["POSTGRES_USER"],
        postgres["POSTGRES_PASSWORD"],
        postgres["POSTGRES_DB"],
    )
    assert environment["DATABASE_URL"] == f"postgres://{user}:{password}@postgres:5432/{database}"


def test_the_gateway_port_is_published_where_it_listens() -> None:
    command = SERVICES["gateway"]["command"]
    port = command[command.index("--port") + 1]
    assert f"{port}:{port}" in SERVICES["gateway"]["ports"] and port == "8080"


def test_dockerfile_copies_existing_files_and_runs_the_gateway() -> None:
    for line in DOCKERFILE.splitlines():
        if line.startswith("COPY ") and "--from=" not in line:
            *sources, _ = shlex.split(line)[1:]
            for source in sources:
                assert (ROOT / source).exists(), source
    cmd = re.search(r"^CMD (\[.*\])$", DOCKERFILE, re.M)
    assert cmd is not None
    check_command(yaml.safe_load(cmd.group(1)))
    assert "collectstatic" in DOCKERFILE and "npm ci" in DOCKERFILE


def test_dockerfile_sets_only_variables_the_settings_read() -> None:
    names = re.findall(r"\b(DJANGO_[A-Z_]+)=", DOCKERFILE)
    assert names and set(names) <= SETTINGS_ENV


def test_dockerignore_keeps_local_state_out_of_the_image() -> None:
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".venv", "**/node_modules", "db.sqlite3", ".git"} <= ignored
    assert not any(Path(pattern).parts[:1] == ("frontend",) for pattern in ignored)
