"""The ``RES_BRIDGE`` settings namespace, read with defaults and reloaded on ``setting_changed``.

RES_BRIDGE = {
    "NATS_URL": "nats://127.0.0.1:4222",  # one URL, or several separated by commas; default: $NATS_URL
    "QUEUE_GROUP": "res_bridge",  # service instances in one group share the requests
    "MAX_PAGE_SIZE": 100,  # largest limit of a query collection, and its default
    "EVENT_BUFFER_SIZE": 10000,  # events kept by the publisher while NATS is unreachable
    "QUERY_EVENT_DURATION": 3.0,  # seconds a query event's subject is answered
    "AUTH_RID": "django.auth",  # auth requests go to auth.<AUTH_RID>.<method>
    "FLUSH_TIMEOUT": 5.0,  # seconds the publisher waits at exit for pending events
    "WORKERS": 4,  # threads running ORM work for the service
    "RELAY_BATCH_SIZE": 1000,  # outbox rows the relay sends per pass
    "RELAY_POLL_INTERVAL": 0.02,  # seconds between outbox polls on SQLite (PostgreSQL is notified)
    "LOGIN_CONCURRENCY": 2,  # password checks at once per service process (of WORKERS threads)
    "LOGIN_FAILURE_LIMIT": 5,  # failed logins per username and per connection before a cool-off (0: off)
    "LOGIN_COOLOFF": 300,  # seconds after the last failure until logins are taken again
    "ACCESS_POLICY": "res_bridge.access.AccessPolicy",  # dotted path to the access policy class
}
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

from res_protocol.environ import nats_url

DEFAULTS: dict[str, Any] = {
    "NATS_URL": "nats://127.0.0.1:4222",
    "QUEUE_GROUP": "res_bridge",
    "MAX_PAGE_SIZE": 100,
    "EVENT_BUFFER_SIZE": 10000,
    "QUERY_EVENT_DURATION": 3.0,
    "AUTH_RID": "django.auth",
    "FLUSH_TIMEOUT": 5.0,
    "WORKERS": 4,
    "RELAY_BATCH_SIZE": 1000,
    "RELAY_POLL_INTERVAL": 0.02,
    "LOGIN_CONCURRENCY": 2,
    "LOGIN_FAILURE_LIMIT": 5,
    "LOGIN_COOLOFF": 300,
    "ACCESS_POLICY": "res_bridge.access.AccessPolicy",
}

#: Settings holding a dotted path: read as what it names, imported when first used.
IMPORT_STRINGS = frozenset({"ACCESS_POLICY"})


class BridgeSettings:
    """Attribute access to ``settings.RES_BRIDGE`` with :data:`DEFAULTS` for missing keys."""

    def __init__(self) -> None:
        self._cache: dict[str, Any] = {}

    @property
    def user_settings(self) -> dict[str, Any]:
        return getattr(settings, "RES_BRIDGE", None) or {}

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(f"invalid RES_BRIDGE setting: {name!r}")
        if name not in self._cache:
            default = nats_url() if name == "NATS_URL" else DEFAULTS[name]
            value = self.user_settings.get(name, default)
            self._cache[name] = perform_import(name, value) if name in IMPORT_STRINGS else value
        return self._cache[name]

    @property
    def nats_servers(self) -> list[str]:
        return server_urls(self.NATS_URL)

    def reload(self) -> None:
        self._cache.clear()


def perform_import(name: str, value: Any) -> Any:
    """What the dotted path ``value`` of setting ``name`` names; :class:`ImportError` saying which setting."""
    if not isinstance(value, str):
        return value
    try:
        return import_string(value)
    except ImportError as e:
        raise ImportError(f"RES_BRIDGE[{name!r}] = {value!r} cannot be imported: {e}") from e


def server_urls(urls: str) -> list[str]:
    """The NATS server URLs of a comma-separated list (nodes of one cluster)."""
    return [url.strip() for url in str(urls).split(",") if url.strip()]


bridge_settings = BridgeSettings()


def _reload(*, setting: str, **kwargs: Any) -> None:
    if setting == "RES_BRIDGE":
        bridge_settings.reload()


setting_changed.connect(_reload, dispatch_uid="res_bridge.conf.reload")
