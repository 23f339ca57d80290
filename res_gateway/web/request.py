"""The HTTP request behind a connection, a REST request or a WebSocket upgrade, as Go's server reads it.

Auth requests describe it as resgate does: ``header`` without ``Host`` (Go keeps the host apart),
``host`` as the client sent it (with its port, if any), ``remoteAddr`` as Go writes a TCP address, and
``uri`` the raw request target.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from .meta import Header, canonical_key


@dataclass
class RequestInfo:
    """The HTTP request (or WebSocket upgrade request) behind a connection, for auth requests."""

    header: Header = field(default_factory=dict)
    host: str = ""
    remote_addr: str = ""
    uri: str = ""


@functools.lru_cache(maxsize=256)
def _header_key(name: bytes) -> str:
    """The canonical key of a raw header name; clients send the same few names again and again."""
    return canonical_key(name.decode("latin-1"))


def _read_header(scope: Mapping[str, Any]) -> tuple[Header, str]:
    """The request's headers as :func:`request_header` gives them, and the first ``Host`` value."""
    header: Header = {}
    host = None
    for name, value in scope.get("headers", ()):
        key = _header_key(name)
        if key != "Host":
            header.setdefault(key, []).append(value.decode("latin-1"))
        elif host is None:
            host = value.decode("latin-1")
    return header, host or ""


def request_header(scope: Mapping[str, Any]) -> Header:
    """The request's headers with Go's canonical keys, without ``Host`` (as Go's ``Request.Header``)."""
    return _read_header(scope)[0]


def raw_path(scope: Mapping[str, Any]) -> str:
    """The request's path as the client sent it (escapes kept)."""
    raw = scope.get("raw_path")
    return raw.decode("latin-1") if raw else quote(scope.get("path", ""))


def remote_address(host: str, port: int) -> str:
    """``host:port`` as Go writes a TCP address: IPv6 in brackets, an IPv4-mapped IPv6 address as IPv4
    (a dual-stack socket sees IPv4 clients so)."""
    if ":" not in host:  # no IPv6 address: an IPv4 one is written as given, as is a host name
        return f"{host}:{port}"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return f"{host}:{port}"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return f"[{ip}]:{port}" if ip.version == 6 else f"{ip}:{port}"


def request_info(scope: Mapping[str, Any]) -> RequestInfo:
    """An ASGI ``http`` or ``websocket`` scope as auth requests describe it."""
    header, host = _read_header(scope)
    client = scope.get("client")
    remote_addr = remote_address(client[0], client[1]) if client else ""
    uri = raw_path(scope)
    if scope.get("query_string"):
        uri += "?" + scope["query_string"].decode("latin-1")
    return RequestInfo(header, host, remote_addr, uri)
