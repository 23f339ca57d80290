"""Gateway settings: resgate's config keys, their defaults and the values each one accepts or refuses."""

from __future__ import annotations

from typing import Any

import pytest

from res_gateway.conf import RESGATE_DEFAULTS, ConfigError, GatewaySettings

ALL_METHODS = "GET, HEAD, OPTIONS, POST, PUT, DELETE, PATCH"

# (config, attribute, expected value)
VALID = [
    ({}, "nats_url", "nats://127.0.0.1:4222"),
    ({"natsUrl": "nats://10.0.0.1:4333"}, "nats_url", "nats://10.0.0.1:4333"),
    ({"natsUrl": ""}, "nats_url", "nats://127.0.0.1:4222"),
    ({"natsCreds": "user.creds"}, "nats_creds", "user.creds"),
    ({"natsCert": "c.pem", "natsKey": "k.pem"}, "nats_key", "k.pem"),
    ({"natsRootCAs": ["a.pem", "b.pem"]}, "nats_root_cas", ["a.pem", "b.pem"]),
    ({"natsRootCAs": None}, "nats_root_cas", []),
    ({}, "request_timeout", 3.0),
    ({"requestTimeout": 500}, "request_timeout", 0.5),
    ({"requestTimeout": 11}, "request_timeout", 0.011),
    ({"requestTimeout": 10}, "request_timeout", 10.0),  # <= 10 is seconds (deprecated form)
    ({"requestTimeout": 1}, "request_timeout", 1.0),
    ({"requestTimeout": 0}, "request_timeout", 3.0),  # zero takes the default
    ({}, "buffer_size", 8192),
    ({"bufferSize": 0}, "buffer_size", 8192),
    ({"bufferSize": 64}, "buffer_size", 64),
    ({"debug": True}, "debug", True),
    ({"trace": True}, "trace", True),
    ({}, "addr", "0.0.0.0"),
    ({"addr": None}, "addr", "0.0.0.0"),
    ({"addr": ""}, "addr", ""),  # every interface
    ({"addr": "127.0.0.1"}, "addr", "127.0.0.1"),
    ({"addr": "::1"}, "addr", "::1"),
    ({}, "port", 8080),
    ({"port": 0}, "port", 8080),
    ({"port": 65535}, "port", 65535),
    ({}, "ws_path", "/"),
    ({"wsPath": ""}, "ws_path", "/"),
    ({"wsPath": "/ws"}, "ws_path", "/ws"),
    ({}, "api_path", "/api/"),
    ({"apiPath": ""}, "api_path", "/api/"),
    ({"apiPath": "/rest"}, "api_path", "/rest/"),
    ({"apiPath": "/"}, "api_path", "/"),
    ({}, "metrics_port", 0),
    ({"metricsPort": 8090}, "metrics_port", 8090),
    ({"port": 9000, "metricsPort": 8080}, "metrics_port", 8080),
    ({}, "api_encoding", "json"),
    ({"apiEncoding": ""}, "api_encoding", "json"),
    ({"apiEncoding": "JSON"}, "api_encoding", "json"),
    ({"apiEncoding": "jsonFlat"}, "api_encoding", "jsonflat"),
    ({}, "header_auth", None),
    ({"headerAuth": "auth.test.foo"}, "header_auth", ("auth.test", "foo")),
    ({"wsHeaderAuth": "vault.method"}, "ws_header_auth", ("vault", "method")),
    ({}, "allow_origin", ["*"]),
    ({"allowOrigin": None}, "allow_origin", ["*"]),
    ({"allowOrigin": "*"}, "allow_origin", ["*"]),
    ({"allowOrigin": "http://resgate.io"}, "allow_origin", ["http://resgate.io"]),
    ({"allowOrigin": "HTTPS://Resgate.IO:8443"}, "allow_origin", ["https://resgate.io:8443"]),
    ({"allowOrigin": "http://resgate.io;http://localhost"}, "allow_origin", ["http://localhost", "http://resgate.io"]),
    ({}, "allow_methods", "GET, HEAD, OPTIONS, POST"),
    ({"putMethod": "set"}, "allow_methods", "GET, HEAD, OPTIONS, POST, PUT"),
    ({"deleteMethod": "delete"}, "allow_methods", "GET, HEAD, OPTIONS, POST, DELETE"),
    ({"patchMethod": "patch"}, "allow_methods", "GET, HEAD, OPTIONS, POST, PATCH"),
    ({"putMethod": "a", "deleteMethod": "b", "patchMethod": "c"}, "allow_methods", ALL_METHODS),
    ({"putMethod": "set"}, "put_method", "set"),
    ({"tls": True, "certFile": "c.pem", "keyFile": "k.pem"}, "cert_file", "c.pem"),
    ({"tls": True, "certFile": "c.pem", "keyFile": "k.pem"}, "key_file", "k.pem"),
    ({}, "ws_compression", False),
    ({"wsCompression": True}, "ws_compression", True),
    ({"resetThrottle": 10}, "reset_throttle", 10),
    ({"referenceThrottle": 5}, "reference_throttle", 5),
    ({}, "server", "uvicorn"),
    ({"server": "Daphne"}, "server", "daphne"),
    ({"sendQueueSize": 10}, "send_queue_size", 10),
    ({"unsubscribeDelay": 0}, "unsubscribe_delay", 0.0),
    ({"subscriptionLimit": 1}, "subscription_limit", 1),
    ({"maxBodySize": 100}, "max_body_size", 100),
    ({"browsableApi": False}, "browsable_api", False),
]  # fmt: skip


@pytest.mark.parametrize(("config", "attribute", "expected"), VALID)
def test_valid_value(config: dict[str, Any], attribute: str, expected: Any) -> None:
    assert getattr(GatewaySettings.from_config(config), attribute) == expected


# (config, the key the error names)
INVALID = [
    ({"natsUrl": 4222}, "natsUrl"),
    ({"natsCreds": ["x"]}, "natsCreds"),
    ({"natsRootCAs": "ca.pem"}, "natsRootCAs"),
    ({"natsRootCAs": [1]}, "natsRootCAs"),
    ({"natsCert": "c.pem"}, "natsCert"),
    ({"natsKey": "k.pem"}, "natsKey"),
    ({"natsCert": "c.pem", "natsKey": ""}, "natsCert"),
    ({"natsCert": None, "natsKey": "k.pem"}, "natsKey"),
    ({"requestTimeout": -1}, "requestTimeout"),
    ({"requestTimeout": "3000"}, "requestTimeout"),
    ({"requestTimeout": 1.5}, "requestTimeout"),
    ({"requestTimeout": True}, "requestTimeout"),
    ({"bufferSize": -1}, "bufferSize"),
    ({"debug": "yes"}, "debug"),
    ({"trace": 1}, "trace"),
    ({"addr": "127.0.0"}, "addr"),
    ({"addr": "localhost"}, "addr"),
    ({"addr": 127}, "addr"),
    ({"port": 65536}, "port"),
    ({"port": -1}, "port"),
    ({"port": "8080"}, "port"),
    ({"wsPath": 1}, "wsPath"),
    ({"apiPath": False}, "apiPath"),
    ({"metricsPort": 70000}, "metricsPort"),
    ({"metricsPort": 8080}, "metricsPort"),  # the default API port
    ({"port": 9000, "metricsPort": 9000}, "metricsPort"),
    ({"apiEncoding": "test"}, "apiEncoding"),
    ({"apiEncoding": 1}, "apiEncoding"),
    ({"headerAuth": "test"}, "headerAuth"),
    ({"headerAuth": "auth.test.foo?q=1"}, "headerAuth"),
    ({"headerAuth": "auth..foo"}, "headerAuth"),
    ({"wsHeaderAuth": "test"}, "wsHeaderAuth"),
    ({"allowOrigin": ""}, "allowOrigin"),
    ({"allowOrigin": ";http://localhost"}, "allowOrigin"),
    ({"allowOrigin": "http://localhost;"}, "allowOrigin"),
    ({"allowOrigin": "http://localhost;*"}, "allowOrigin"),
    ({"allowOrigin": "*;*"}, "allowOrigin"),
    ({"allowOrigin": "http://this.is/invalid"}, "allowOrigin"),
    ({"allowOrigin": "http://host?q=1"}, "allowOrigin"),
    ({"allowOrigin": "http://host#top"}, "allowOrigin"),
    ({"allowOrigin": "http://user@host"}, "allowOrigin"),
    ({"allowOrigin": "localhost"}, "allowOrigin"),
    ({"allowOrigin": ["*"]}, "allowOrigin"),
    ({"putMethod": "foo.bar"}, "putMethod"),
    ({"putMethod": ""}, "putMethod"),
    ({"deleteMethod": "foo.bar"}, "deleteMethod"),
    ({"patchMethod": "foo bar"}, "patchMethod"),
    ({"tls": "true"}, "tls"),
    ({"certFile": 1}, "certFile"),
    ({"keyFile": 1}, "keyFile"),
    ({"wsCompression": 1}, "wsCompression"),
    ({"resetThrottle": -1}, "resetThrottle"),
    ({"referenceThrottle": "5"}, "referenceThrottle"),
    ({"server": "hypercorn"}, "server"),
    ({"sendQueueSize": 0}, "sendQueueSize"),
    ({"unsubscribeDelay": -1}, "unsubscribeDelay"),
    ({"subscriptionLimit": 0}, "subscriptionLimit"),
    ({"maxBodySize": 0}, "maxBodySize"),
    ({"browsableApi": "no"}, "browsableApi"),
    ({"noSuchKey": 1}, "noSuchKey"),
]


@pytest.mark.parametrize(("config", "key"), INVALID)
def test_invalid_value_names_the_setting_and_value(config: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as raised:
        GatewaySettings.from_config(config)
    message = str(raised.value)
    assert key in message
    assert repr(config[key]) in message or key == "noSuchKey"
    assert "\n" not in message


def test_every_resgate_key_is_covered() -> None:
    covered = {key for config, *_ in VALID + INVALID for key in config}
    assert set(RESGATE_DEFAULTS) <= covered
