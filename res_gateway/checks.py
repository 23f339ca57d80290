"""System checks for running the gateway (``manage.py check --tag res_gateway``)."""

from __future__ import annotations

import os
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning
from django.urls import Resolver404, resolve

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
    if settings.DEBUG or not isinstance(config, dict) or config.get("natsUrl") or os.environ.get("NATS_URL"):
        return []
    return [
        Warning(
            "Neither RES_GATEWAY's natsUrl nor NATS_URL in the environment is set with DEBUG off; the "
            "gateway connects to nats://127.0.0.1:4222.",
            hint="Set NATS_URL in the environment, or RES_GATEWAY['natsUrl'] (or pass --nats to rungateway).",
            id="res_gateway.W003",
        )
    ]


def check_apps(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """W020: ``channels`` is not installed; E021: the browsable API without ``rest_framework``'s templates."""
    messages: list[CheckMessage] = []
    if not apps.is_installed("channels"):
        messages.append(
            Warning(
                "'channels' is not in INSTALLED_APPS; the gateway is a Channels application.",
                hint="Add 'channels' to INSTALLED_APPS.",
                id="res_gateway.W020",
            )
        )
    if not apps.is_installed("rest_framework") and _gateway_config().get("browsableApi", True):
        messages.append(
            Error(
                "'rest_framework' is not in INSTALLED_APPS: the REST API's pages for browsers would fail "
                "(TemplateDoesNotExist).",
                hint="Add 'rest_framework' to INSTALLED_APPS, or set RES_GATEWAY['browsableApi'] = False.",
                id="res_gateway.E021",
            )
        )
    return messages


def check_websocket_route(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """E022: ``ASGI_APPLICATION`` cannot be loaded; W022: it routes no WebSocket to the gateway."""
    if not getattr(settings, "ASGI_APPLICATION", None):
        return []
    from channels.routing import get_default_application

    try:
        application = get_default_application()
    except Exception as e:  # noqa: BLE001 - any error importing the site's module is the message
        return [
            Error(
                f"ASGI_APPLICATION {settings.ASGI_APPLICATION!r} cannot be loaded: {e}",
                hint="Point it at the ProtocolTypeRouter in your asgi.py.",
                id="res_gateway.E022",
            )
        ]
    if _reaches_gateway(application) is False:
        return [
            Warning(
                f"ASGI_APPLICATION {settings.ASGI_APPLICATION!r} routes no WebSocket to the gateway.",
                hint='Route "websocket" to res_gateway.consumers.GatewayConsumer.as_asgi() in the '
                "ProtocolTypeRouter (see the README).",
                id="res_gateway.W022",
            )
        ]
    return []


def _reaches_gateway(app: Any) -> bool | None:
    """Whether WebSockets can reach :class:`GatewayConsumer` through ``app`` (None: cannot tell)."""
    from django.core.handlers.asgi import ASGIHandler

    from .consumers import GatewayConsumer

    if isinstance(app, ASGIHandler):  # Django itself refuses WebSockets
        return False
    consumer = getattr(app, "consumer_class", None)
    if consumer is not None:
        return issubclass(consumer, GatewayConsumer)
    mapping = getattr(app, "application_mapping", None)
    if mapping is not None:  # ProtocolTypeRouter
        return _reaches_gateway(mapping["websocket"]) if "websocket" in mapping else False
    routes = getattr(app, "routes", None)
    if routes is not None:  # URLRouter
        found = [_reaches_gateway(getattr(route, "callback", None)) for route in routes]
        return True if True in found else None if None in found else False
    inner = getattr(app, "inner", None) or getattr(app, "application", None)  # middleware, validators
    return _reaches_gateway(inner) if inner is not None else None


def check_api_mounted(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """W023: the site's URLconf does not serve the REST API at ``apiPath``."""
    from .http.views import ResourceView

    try:
        api_path = GatewaySettings.from_config(_gateway_config()).api_path
        view = getattr(resolve(api_path).func, "view_class", None)
    except ConfigError:
        return []  # E001 says why
    except Resolver404:
        view = None
    except Exception:  # noqa: BLE001 - a broken URLconf is reported by Django's own URL checks
        return []
    if view is not None and issubclass(view, ResourceView):
        return []
    return [
        Warning(
            f"The REST API is not mounted at apiPath {api_path!r} in ROOT_URLCONF.",
            hint='Add path("api/", include("res_gateway.http.urls")) to urlpatterns (under your apiPath), '
            "or res_gateway.http.urls.api_urls().",
            id="res_gateway.W023",
        )
    ]


def _gateway_config() -> dict[str, Any]:
    config = getattr(settings, "RES_GATEWAY", {})
    return config if isinstance(config, dict) else {}


ALL_CHECKS = (
    check_settings,
    check_asgi_application,
    check_channel_layer,
    check_persistent_connections,
    check_nats_url,
    check_apps,
    check_websocket_route,
    check_api_mounted,
)
