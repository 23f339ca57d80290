"""What a site gets wrong around the bridge: two NATS servers, SQLite's default transactions, DRF tokens;
and the ``NATS_URL`` environment variable both apps read when their settings name no server."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.core import checks
from django.test import override_settings

from res_bridge.checks import SQLITE_OPTIONS, check_nats_url, check_sqlite, check_token_auth
from res_bridge.conf import bridge_settings
from res_gateway.conf import GatewaySettings

SQLITE = {"ENGINE": "django.db.backends.sqlite3", "NAME": "db.sqlite3"}
POSTGRES = {"ENGINE": "django.db.backends.postgresql", "NAME": "site"}


@pytest.fixture
def nats_env(monkeypatch):
    """Set (or with None, unset) ``NATS_URL`` for the test; the bridge's settings read it again."""

    def set_env(url: str | None) -> None:
        if url is None:
            monkeypatch.delenv("NATS_URL", raising=False)
        else:
            monkeypatch.setenv("NATS_URL", url)
        bridge_settings.reload()

    yield set_env
    bridge_settings.reload()


@pytest.mark.parametrize(
    ("env", "gateway", "bridge", "warned"),
    [
        (None, {}, {}, False),
        ("nats://nats:4222", {}, {}, False),
        ("nats://nats:4222", {"natsUrl": "nats://nats:4222"}, {}, False),
        (None, {"natsUrl": "nats://LOCALHOST"}, {"NATS_URL": "nats://localhost:4222"}, False),
        (None, {"natsUrl": "nats://a:4222"}, {"NATS_URL": "nats://a:4222, nats://a:4222"}, False),
        ("nats://nats:4222", {"natsUrl": "nats://127.0.0.1:4222"}, {}, True),
        (None, {"natsUrl": "nats://127.0.0.1:4223"}, {}, True),
        (None, {}, {"NATS_URL": "nats://127.0.0.1:4223"}, True),
        ("nats://x:1", {}, {"NATS_URL": "nats://x:1,nats://y:1"}, True),
    ],
)
def test_a_gateway_and_a_bridge_on_different_servers_are_warned_of(nats_env, env, gateway, bridge, warned):
    nats_env(env)
    with override_settings(RES_GATEWAY=gateway, RES_BRIDGE=bridge):
        messages = check_nats_url()
    assert [m.id for m in messages] == (["res_bridge.W020"] if warned else [])
    for message in messages:
        assert message.level == checks.WARNING and "NATS_URL" in message.hint


@pytest.mark.parametrize(
    ("env", "gateway", "bridge", "expected"),
    [
        (None, {}, {}, "nats://127.0.0.1:4222"),
        ("nats://nats:4222", {}, {}, "nats://nats:4222"),
        ("nats://nats:4222", {"natsUrl": ""}, {}, "nats://nats:4222"),
        ("nats://nats:4222", {"natsUrl": "nats://other:4222"}, {"NATS_URL": "nats://other:4222"}, None),
    ],
)
def test_both_apps_read_nats_url_from_the_environment(nats_env, env, gateway, bridge, expected):
    nats_env(env)
    with override_settings(RES_GATEWAY=gateway, RES_BRIDGE=bridge):
        assert GatewaySettings.from_config(gateway).nats_url == (expected or gateway["natsUrl"])
        bridge_url = bridge_settings.NATS_URL
        assert bridge_url == (expected or bridge["NATS_URL"])


@pytest.mark.parametrize(
    ("databases", "warned"),
    [
        ({"default": {**SQLITE, "OPTIONS": SQLITE_OPTIONS}}, []),
        ({"default": POSTGRES}, []),
        ({"default": SQLITE}, ["default"]),
        ({"default": POSTGRES, "logs": {**SQLITE, "OPTIONS": {"timeout": 20}}}, ["logs"]),
    ],
)
@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
def test_sqlite_without_immediate_transactions_is_warned_of(databases, warned):
    with override_settings(DATABASES=databases):
        messages = check_sqlite()
    assert [m.id for m in messages] == ["res_bridge.W021"] * len(warned)
    for alias, message in zip(warned, messages, strict=True):
        assert f"DATABASES[{alias!r}]" in message.msg and "'transaction_mode': 'IMMEDIATE'" in message.hint


def test_the_demo_settings_hold_concurrent_calls_on_sqlite():
    if django_settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        assert django_settings.DATABASES["default"]["OPTIONS"] == SQLITE_OPTIONS
    assert check_sqlite() == []


def test_token_auth_without_its_app_is_said():
    assert check_token_auth() == []
    apps = [app for app in django_settings.INSTALLED_APPS if app != "rest_framework.authtoken"]
    with override_settings(INSTALLED_APPS=apps):
        (message,) = check_token_auth()
    assert (message.id, message.level) == ("res_bridge.I022", checks.INFO)
    assert "rest_framework.authtoken" in message.msg and message.hint
