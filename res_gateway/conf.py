"""Gateway settings: resgate's JSON config keys, validated into one object.

Django settings hold them under ``RES_GATEWAY`` with resgate's key names (``natsUrl``,
``wsPath``, ``requestTimeout`` ...) plus a few of ours; ``rungateway`` overlays its flags and
``--config`` file. Without ``natsUrl`` the ``NATS_URL`` environment variable names the server.
:data:`gateway_settings` is reloaded when ``RES_GATEWAY`` changes.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.signals import setting_changed

from res_protocol import is_valid_part, is_valid_rid
from res_protocol.environ import nats_url

RESGATE_VERSION = "1.8.0"

#: resgate's config keys and their defaults, as a ``--config`` file written anew holds them.
RESGATE_DEFAULTS: dict[str, Any] = {
    "natsUrl": "nats://127.0.0.1:4222",
    "natsCreds": "",
    "natsCert": "",
    "natsKey": "",
    "natsRootCAs": [],
    "requestTimeout": 3000,
    "bufferSize": 8192,
    "debug": False,
    "trace": False,
    "addr": "0.0.0.0",
    "port": 8080,
    "wsPath": "/",
    "apiPath": "/api",
    "metricsPort": 0,
    "apiEncoding": "json",
    "headerAuth": None,
    "wsHeaderAuth": None,
    "allowOrigin": "*",
    "putMethod": None,
    "deleteMethod": None,
    "patchMethod": None,
    "tls": False,
    "certFile": "",
    "keyFile": "",
    "wsCompression": False,
    "resetThrottle": 0,
    "referenceThrottle": 0,
}

#: Settings of ours, beyond resgate's.
EXTRA_DEFAULTS: dict[str, Any] = {
    "server": "uvicorn",  # ASGI server for rungateway: "uvicorn" or "daphne"
    "sendQueueSize": 4096,  # messages queued for one slow client before it is disconnected
    "unsubscribeDelay": 5.0,  # seconds a resource stays cached after its last subscriber
    "subscriptionLimit": 256,  # direct subscriptions per rid per connection
    "maxBodySize": 1 << 20,  # bytes accepted in an HTTP request body
    "browsableApi": True,  # render resources as HTML for browsers on the REST bridge
    "maxRequestsInFlight": 256,  # requests one WebSocket connection may have unanswered (0: no limit)
    "maxSubscribeRate": 200,  # new subscriptions a second per WebSocket connection, in bursts of as many
}


#: Keys whose zero value ("" or 0) resgate replaces with the default.
_ZERO_DEFAULTED = ("natsUrl", "requestTimeout", "bufferSize", "port", "wsPath", "apiPath", "apiEncoding")


class ConfigError(ValueError):
    """An invalid gateway setting; the message names the setting and the value."""


@dataclass(frozen=True)
class GatewaySettings:
    nats_url: str
    nats_creds: str
    nats_cert: str
    nats_key: str
    nats_root_cas: list[str]
    request_timeout: float  # seconds
    buffer_size: int
    debug: bool
    trace: bool
    addr: str
    port: int
    ws_path: str
    api_path: str  # always ends with "/"
    metrics_port: int
    api_encoding: str  # "json" or "jsonflat"
    header_auth: tuple[str, str] | None  # (rid, method)
    ws_header_auth: tuple[str, str] | None
    allow_origin: list[str]  # ["*"] or lowercased, sorted origins
    put_method: str | None
    delete_method: str | None
    patch_method: str | None
    tls: bool
    cert_file: str
    key_file: str
    ws_compression: bool
    reset_throttle: int
    reference_throttle: int
    server: str
    send_queue_size: int
    unsubscribe_delay: float
    subscription_limit: int
    max_body_size: int
    browsable_api: bool
    max_requests_in_flight: int
    max_subscribe_rate: int
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def allow_methods(self) -> str:
        methods = "GET, HEAD, OPTIONS, POST"
        for verb, name in (
            ("PUT", self.put_method),
            ("DELETE", self.delete_method),
            ("PATCH", self.patch_method),
        ):
            if name is not None:
                methods += f", {verb}"
        return methods

    @classmethod
    def from_config(cls, config: dict[str, Any] | None = None) -> GatewaySettings:
        """Validate resgate-style keys (missing ones take their defaults)."""
        defaults = {**RESGATE_DEFAULTS, "natsUrl": nats_url()}  # NATS_URL in the environment, if set
        merged = {**defaults, **EXTRA_DEFAULTS, **(config or {})}
        unknown = set(merged) - set(RESGATE_DEFAULTS) - set(EXTRA_DEFAULTS)
        if unknown:
            raise ConfigError(f"unknown gateway setting {sorted(unknown)[0]!r}")
        for key in _ZERO_DEFAULTED:  # as resgate's SetDefault, before validation
            if merged[key] is None or (type(merged[key]) in (str, int) and not merged[key]):
                merged[key] = defaults[key]
        _pair(merged, "natsCert", "natsKey")
        return cls(
            nats_url=_str(merged, "natsUrl"),
            nats_creds=_str(merged, "natsCreds"),
            nats_cert=_str(merged, "natsCert"),
            nats_key=_str(merged, "natsKey"),
            nats_root_cas=_str_list(merged, "natsRootCAs"),
            request_timeout=_request_timeout(merged["requestTimeout"]),
            buffer_size=_int(merged, "bufferSize", minimum=1),
            debug=_bool(merged, "debug"),
            trace=_bool(merged, "trace"),
            addr=_addr(merged["addr"]),
            port=_port(merged, "port") or 8080,
            ws_path=_str(merged, "wsPath") or "/",
            api_path=_api_path(_str(merged, "apiPath")),
            metrics_port=_metrics_port(merged),
            api_encoding=_api_encoding(merged["apiEncoding"]),
            header_auth=_resource_method(merged, "headerAuth"),
            ws_header_auth=_resource_method(merged, "wsHeaderAuth"),
            allow_origin=_allow_origin(merged["allowOrigin"]),
            put_method=_method(merged, "putMethod"),
            delete_method=_method(merged, "deleteMethod"),
            patch_method=_method(merged, "patchMethod"),
            tls=_bool(merged, "tls"),
            cert_file=_str(merged, "certFile"),
            key_file=_str(merged, "keyFile"),
            ws_compression=_bool(merged, "wsCompression"),
            reset_throttle=_int(merged, "resetThrottle"),
            reference_throttle=_int(merged, "referenceThrottle"),
            server=_choice(merged, "server", ("uvicorn", "daphne")),
            send_queue_size=_int(merged, "sendQueueSize", minimum=1),
            unsubscribe_delay=_number(merged, "unsubscribeDelay"),
            subscription_limit=_int(merged, "subscriptionLimit", minimum=1),
            max_body_size=_int(merged, "maxBodySize", minimum=1),
            browsable_api=_bool(merged, "browsableApi"),
            max_requests_in_flight=_int(merged, "maxRequestsInFlight"),
            max_subscribe_rate=_int(merged, "maxSubscribeRate"),
            raw=merged,
        )


def _invalid(key: str, value: Any, why: str) -> ConfigError:
    return ConfigError(f"invalid {key} setting ({value!r}): {why}")


def _str(c: dict[str, Any], key: str) -> str:
    value = c[key]
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _invalid(key, value, "must be a string")
    return value


def _pair(c: dict[str, Any], key: str, other: str) -> None:
    """``key`` and ``other`` are both given or both left out."""
    for given, missing in ((key, other), (other, key)):
        if _str(c, given) and not _str(c, missing):
            raise _invalid(given, c[given], f"needs {missing} too")


def _str_list(c: dict[str, Any], key: str) -> list[str]:
    value = c[key] or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _invalid(key, value, "must be a list of strings")
    return list(value)


def _bool(c: dict[str, Any], key: str) -> bool:
    value = c[key]
    if not isinstance(value, bool):
        raise _invalid(key, value, "must be true or false")
    return value


def _int(c: dict[str, Any], key: str, minimum: int = 0) -> int:
    value = c[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _invalid(key, value, f"must be an integer of at least {minimum}")
    return value


def _number(c: dict[str, Any], key: str) -> float:
    value = c[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise _invalid(key, value, "must be a non-negative number")
    return float(value)


def _choice(c: dict[str, Any], key: str, choices: tuple[str, ...]) -> str:
    value = c[key]
    if not isinstance(value, str) or value.lower() not in choices:
        raise _invalid(key, value, f"must be one of {', '.join(choices)}")
    return value.lower()


def _port(c: dict[str, Any], key: str) -> int:
    value = c[key]
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 65536:
        raise _invalid(key, value, "must be a port number below 65536")
    return value


def _metrics_port(c: dict[str, Any]) -> int:
    port = _port(c, "metricsPort")
    if port and port == (_port(c, "port") or 8080):
        raise _invalid("metricsPort", port, "must be different from the API port")
    return port


def _request_timeout(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise _invalid("requestTimeout", value, "must be a positive number of milliseconds")
    return float(value) if value <= 10 else value / 1000


def _addr(value: Any) -> str:
    if value is None:
        return "0.0.0.0"
    if not isinstance(value, str):
        raise _invalid("addr", value, "must be a valid IPv4 or IPv6 address")
    if value:
        try:
            ipaddress.ip_address(value)
        except ValueError:
            raise _invalid("addr", value, "must be a valid IPv4 or IPv6 address")
    return value


def _api_path(value: str) -> str:
    value = value or "/api"
    return value if value.endswith("/") else value + "/"


def _api_encoding(value: Any) -> str:
    if not isinstance(value, str) or value.lower() not in ("json", "jsonflat"):
        raise _invalid("apiEncoding", value, "must be json or jsonflat")
    return value.lower()


def _resource_method(c: dict[str, Any], key: str) -> tuple[str, str] | None:
    value = c[key]
    if value is None:
        return None
    if not isinstance(value, str) or not is_valid_rid(value, allow_query=False) or "." not in value:
        raise _invalid(key, value, "must be a valid resource method")
    rid, _, method = value.rpartition(".")
    return rid, method


def _method(c: dict[str, Any], key: str) -> str | None:
    value = c[key]
    if value is None:
        return None
    if not isinstance(value, str) or not is_valid_part(value):
        raise _invalid(key, value, "must be a valid call method name")
    return value


def _allow_origin(value: Any) -> list[str]:
    if value is None:
        return ["*"]
    if not isinstance(value, str):
        raise _invalid("allowOrigin", value, "must be * or a list of semicolon separated origins")
    origins = [o.lower() for o in value.split(";")]
    for origin in origins:
        if origin == "*":
            if len(origins) > 1:
                raise _invalid("allowOrigin", value, "* must not be used together with other origins")
            continue
        parts = urlsplit(origin)
        if (
            not origin
            or not parts.scheme
            or not parts.netloc
            or parts.path
            or parts.query
            or parts.fragment
            or "@" in parts.netloc
        ):
            raise _invalid("allowOrigin", value, f"{origin!r} doesn't match <scheme>://<hostname>[:<port>]")
    return sorted(origins)


def setting_names() -> list[str]:
    """The attribute names of :class:`GatewaySettings`."""
    return [f.name for f in fields(GatewaySettings) if f.name != "raw"]


if TYPE_CHECKING:
    _Settings = GatewaySettings  # what every attribute read returns, as type checkers should see it
else:
    _Settings = object


class _LazySettings(_Settings):
    """Reads ``settings.RES_GATEWAY`` on first use and again after ``setting_changed``."""

    _settings: GatewaySettings | None = None

    def __init__(self) -> None:
        pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self._settings or self.current(), name)

    def current(self) -> GatewaySettings:
        """The settings in force: for a hot path reading several, each read then costs no lookup."""
        if self._settings is None:
            self._settings = GatewaySettings.from_config(getattr(settings, "RES_GATEWAY", {}))
        return self._settings

    def configure(self, config: dict[str, Any]) -> GatewaySettings:
        """Replace the settings (used by ``rungateway`` after merging flags and config file)."""
        self._settings = GatewaySettings.from_config(config)
        return self._settings

    def reload(self) -> None:
        self._settings = None


gateway_settings = _LazySettings()


def _reload(*, setting: str, **kwargs: Any) -> None:
    if setting == "RES_GATEWAY":
        gateway_settings.reload()


setting_changed.connect(_reload, dispatch_uid="res_gateway.conf.reload")
