"""The HTTP request behind a connection, a REST request or a WebSocket upgrade, as Go's server reads it.

Auth requests describe it as resgate does: ``header`` without ``Host`` (Go keeps the host apart),
``host`` as the client sent it (with its port, if any), ``remoteAddr`` as Go writes a TCP address, and
``uri`` the raw request target.
"""

from __future__ import annotations

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


def request_header(scope: Mapping[str, Any]) -> Header:
    """The request's headers with Go's canonical keys, without ``Host`` (as Go's ``Request.Header``)."""
    header: Header = {}
    for name, value in scope.get("headers", ()):
        key = canonical_key(name.decode("latin-1"))
        if key != "Host":
            header.setdefault(key, []).append(value.decode("latin-1"))
    return header


def raw_path(scope: Mapping[str, Any]) -> str:
    """The request's path as the client sent it (escapes kept)."""
    raw = scope.get("raw_path")
    return raw.decode("latin-1") if raw else quote(scope.get("path", ""))


def remote_address(host: str, port: int) -> str:
    """``host:port`` as Go writes a TCP address: IPv6 in brackets, an IPv4-mapped IPv6 address as IPv4
    (a dual-stack socket sees IPv4 clients so)."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return f"{host}:{port}"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return f"[{ip}]:{port}" if ip.version == 6 else f"{ip}:{port}"


def request_info(scope: Mapping[str, Any]) -> RequestInfo:
    """An ASGI ``http`` or ``websocket`` scope as auth requests describe it."""
    host = next((v.decode("latin-1") for k, v in scope.get("headers", ()) if k.lower() == b"host"), "")
    client = scope.get("client")
    remote_addr = remote_address(client[0], client[1]) if client else ""
    uri = raw_path(scope)
    if scope.get("query_string"):
        uri += "?" + scope["query_string"].decode("latin-1")
    return RequestInfo(request_header(scope), host, remote_addr, uri)
