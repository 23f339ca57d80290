"""System checks for running the gateway (``manage.py check --tag res_gateway``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning

from .conf import ConfigError, GatewaySettings

IN_MEMORY_LAYER = "channels.layers.InMemoryChannelLayer"
SETTINGS_HINT = "Keys and values are resgate's; see docs/gateway-config.md."


def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """E001: ``RES_GATEWAY`` holds a value the gateway cannot start with."""
    config = getattr(settings, "RES_GATEWAY", {})
    try:
        if not isinstance(config, dict):
            raise ConfigError("must be a dict of resgate's config keys")
        GatewaySettings.from_config(config)
    except ConfigError as e:
        return [Error(f"RES_GATEWAY: {e}.", hint=SETTINGS_HINT, id="res_gateway.E001")]
    return []


def check_asgi_application(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """E002: ``ASGI_APPLICATION`` names the application ``rungateway`` serves."""
    if getattr(settings, "ASGI_APPLICATION", None):
        return []
    return [
        Error(
            "ASGI_APPLICATION is not set, so rungateway has no application to serve.",
            hint="Point it at your ProtocolTypeRouter, e.g. 'myproject.asgi.application'.",
            id="res_gateway.E002",
        )
    ]


def check_channel_layer(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """W001: the in-memory channel layer reaches only this process; production runs several."""
    layer = getattr(settings, "CHANNEL_LAYERS", {}).get("default", {})
    if settings.DEBUG or layer.get("BACKEND") != IN_MEMORY_LAYER:
        return []
    return [
        Warning(
            "The in-memory channel layer is in use with DEBUG off: messages reach only consumers in the "
            "same process.",
            hint="Use channels_redis (set REDIS_URL) when more than one gateway process runs.",
            id="res_gateway.W001",
        )
    ]


def check_persistent_connections(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """W002: persistent database connections under ASGI pile up, one per worker thread."""
    if not getattr(settings, "ASGI_APPLICATION", None):
        return []
    return [
        Warning(
            f"DATABASES[{alias!r}] has CONN_MAX_AGE={db.get('CONN_MAX_AGE')!r} while serving ASGI: "
            "persistent connections are kept per thread and are not reused across requests.",
            hint="Set CONN_MAX_AGE to 0, or use the database backend's own connection pool.",
            id="res_gateway.W002",
        )
        for alias, db in settings.DATABASES.items()
        if db.get("CONN_MAX_AGE", 0) != 0
    ]


def check_nats_url(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """W003: no NATS URL configured with DEBUG off: the gateway would use a local default."""
    config = getattr(settings, "RES_GATEWAY", {})
    if settings.DEBUG or not isinstance(config, dict) or config.get("natsUrl"):
        return []
    return [
        Warning(
            "RES_GATEWAY has no natsUrl with DEBUG off; the gateway connects to nats://127.0.0.1:4222.",
            hint="Set RES_GATEWAY['natsUrl'] (or pass --nats to rungateway).",
            id="res_gateway.W003",
        )
    ]


ALL_CHECKS = (
    check_settings,
    check_asgi_application,
    check_channel_layer,
    check_persistent_connections,
    check_nats_url,
)
