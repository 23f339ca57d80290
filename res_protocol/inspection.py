"""The gateway inspection request: the contract between gateways and whoever inspects them, over NATS.

A request on :data:`SUBJECT` (any payload, with a reply subject) is answered by every gateway process
with one JSON object, a :class:`GatewayReport`. The subject lies outside the RES namespaces (``get``,
``call``, ``access``, ``auth``, ``event``, ``system``), so NATS permissions can grant it on its own.
Reports hold counts and resource IDs only: never tokens, connection IDs or anything a client sent.
"""

from __future__ import annotations

from typing import Any, TypedDict

#: Every gateway subscribes here (without a queue group, so all of them answer).
SUBJECT = "_res.gateway.inspect"


class CacheReport(TypedDict):
    resources: int  # resource names cached (queries of one name count once)
    subscriptions: int  # references to them from subscriptions, as resgate's metrics count them


class GatewayReport(TypedDict):
    id: str  # unique per gateway process: host, pid and a random part
    host: str
    pid: int
    version: str
    started: float  # Unix time the gateway started
    uptime: float  # seconds since then
    nats_connected: bool
    connections: int  # open WebSocket connections
    subscriptions: int  # resources held by connections, directly or through references (connection x RID)
    resources: dict[str, int]  # RID → connections holding it
    cache: CacheReport
    slow_consumers: int  # connections whose unsent backlog is past half the send queue limit
    queued_messages: int  # messages waiting to be written to clients, all connections together


def is_report(value: Any) -> bool:
    """Whether a decoded answer has the shape of a :class:`GatewayReport` (unknown keys allowed)."""
    if not isinstance(value, dict):
        return False
    counts = ("connections", "subscriptions", "slow_consumers", "queued_messages", "pid")
    resources, cache = value.get("resources"), value.get("cache")
    return (
        isinstance(value.get("id"), str)
        and all(_is_count(value.get(key)) for key in counts)
        and isinstance(resources, dict)
        and all(isinstance(k, str) and _is_count(n) for k, n in resources.items())
        and isinstance(cache, dict)
        and all(_is_count(cache.get(key)) for key in ("resources", "subscriptions"))
        and all(isinstance(value.get(key), (int, float)) for key in ("started", "uptime"))
    )


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
