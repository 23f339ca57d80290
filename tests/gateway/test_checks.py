"""System checks of the gateway app: ids, when they fire, and that ``manage.py check`` runs them."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.core import checks
from django.test import override_settings

from tests.gateway import sites

IN_MEMORY = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
REDIS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": ["redis://x"]}}}
SQLITE = {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}
GOOD = {"natsUrl": "nats://nats:4222"}


def without(*names: str) -> list[str]:
    return [app for app in settings.INSTALLED_APPS if app not in names]


# (settings, ids of the res_gateway messages expected)
CASES = [
    ({"DEBUG": False, "CHANNEL_LAYERS": REDIS, "RES_GATEWAY": GOOD}, []),
    ({"DEBUG": True, "CHANNEL_LAYERS": IN_MEMORY, "RES_GATEWAY": GOOD}, []),
    ({"RES_GATEWAY": {"port": "8080"}}, ["res_gateway.E001"]),
    ({"RES_GATEWAY": {"allowOrigin": "http://a.io/"}}, ["res_gateway.E001"]),
    ({"RES_GATEWAY": {"unknown": 1}}, ["res_gateway.E001"]),
    ({"RES_GATEWAY": ["natsUrl"]}, ["res_gateway.E001"]),
    ({"ASGI_APPLICATION": None}, ["res_gateway.E002"]),
    ({"DEBUG": False, "CHANNEL_LAYERS": IN_MEMORY, "RES_GATEWAY": GOOD}, ["res_gateway.W001"]),
    ({"DATABASES": {"default": {**SQLITE, "CONN_MAX_AGE": 60}}}, ["res_gateway.W002"]),
    ({"DATABASES": {"default": {**SQLITE, "CONN_MAX_AGE": None}}}, ["res_gateway.W002"]),
    (
        {"DATABASES": {"default": {**SQLITE, "CONN_MAX_AGE": 60}}, "ASGI_APPLICATION": None},
        ["res_gateway.E002"],
    ),
    ({"DEBUG": False, "CHANNEL_LAYERS": REDIS, "RES_GATEWAY": {}}, ["res_gateway.W003"]),
    ({"INSTALLED_APPS": without("channels")}, ["res_gateway.W020"]),
    ({"INSTALLED_APPS": without("rest_framework", "rest_framework.authtoken")}, ["res_gateway.E021"]),
    (
        {
            "INSTALLED_APPS": without("rest_framework", "rest_framework.authtoken"),
            "RES_GATEWAY": {**GOOD, "browsableApi": False},
        },
        [],
    ),
    ({"ASGI_APPLICATION": "tests.gateway.sites.wrapped"}, []),
    ({"ASGI_APPLICATION": "tests.gateway.sites.unknown_app"}, []),
    ({"ASGI_APPLICATION": "tests.gateway.sites.nowhere"}, ["res_gateway.E022"]),
    ({"ASGI_APPLICATION": "tests.gateway.sites.no_websocket"}, ["res_gateway.W022"]),
    ({"ASGI_APPLICATION": "tests.gateway.sites.other_consumer"}, ["res_gateway.W022"]),
    ({"ASGI_APPLICATION": "tests.gateway.sites.django_only"}, ["res_gateway.W022"]),
    ({"ASGI_APPLICATION": "tests.gateway.sites.websocket_to_django"}, ["res_gateway.W022"]),
    ({"ROOT_URLCONF": sites.api_included}, []),
    ({"ROOT_URLCONF": sites.api_included, "RES_GATEWAY": {**GOOD, "apiPath": "/rest"}}, ["res_gateway.W023"]),
    ({"ROOT_URLCONF": sites.api_elsewhere}, ["res_gateway.W023"]),
    ({"ROOT_URLCONF": sites.api_elsewhere, "RES_GATEWAY": {**GOOD, "apiPath": "/rest/"}}, []),
]


def gateway_messages() -> list[checks.CheckMessage]:
    return [m for m in checks.run_checks(tags=["res_gateway"]) if m.id and m.id.startswith("res_gateway.")]


@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
@pytest.mark.filterwarnings("ignore:Overriding setting INSTALLED_APPS")
@pytest.mark.parametrize(("overrides", "expected"), CASES)
def test_checks(overrides: dict[str, Any], expected: list[str]) -> None:
    base = {"DEBUG": True, "RES_GATEWAY": GOOD, "DATABASES": {"default": SQLITE}}
    with override_settings(**{**base, **overrides}):
        messages = gateway_messages()
    assert sorted(m.id for m in messages) == expected
    for message in messages:
        assert (
            message.hint or message.id == "res_gateway.E001" and "RES_GATEWAY must be a dict" in message.msg
        )
        assert message.level == (checks.ERROR if message.id.startswith("res_gateway.E") else checks.WARNING)


def test_invalid_setting_message_names_the_value() -> None:
    with override_settings(DEBUG=True, RES_GATEWAY={"headerAuth": "nomethod"}):
        (message,) = gateway_messages()
    assert "headerAuth" in message.msg and "'nomethod'" in message.msg
