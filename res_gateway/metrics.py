"""Gateway metrics under resgate's names, and their OpenMetrics text exposition.

The connection and HTTP code count through :data:`metrics`; :func:`render` writes everything, plus
``process_*`` figures of this process (the counterparts of resgate's ``go_*`` metrics), for
``GET /metrics`` on ``metricsPort``.
"""

from __future__ import annotations

import os
import platform
import resource
from collections import Counter
from dataclasses import dataclass, field

from res_protocol import PROTOCOL_VERSION

from .conf import RESGATE_VERSION

CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"

#: Request methods always shown, as resgate registers them (others appear once counted).
WS_METHODS = ("get", "subscribe", "unsubscribe", "call", "auth")
HTTP_METHODS = ("GET", "POST")
#: The limits of ours that refuse requests (limits.py, mq/nats.py), always shown.
LIMITS = ("maxRequestsInFlight", "maxSubscribeRate", "maxDepth", "maxPayload")

Labels = dict[str, str]
Sample = tuple[str, Labels, float]  # (name suffix, labels, value)
Family = tuple[str, str, str, list[Sample]]  # (name, type, help, samples)


@dataclass
class Metrics:
    ws_current_connections: int = 0
    ws_connections_total: int = 0
    ws_requests: Counter[str] = field(default_factory=Counter)  # get, subscribe, unsubscribe, call, auth
    http_requests: Counter[str] = field(default_factory=Counter)  # GET, POST, PUT, DELETE, PATCH
    refused: Counter[str] = field(default_factory=Counter)  # requests refused, by limit (limits.py)

    def ws_connected(self) -> None:
        self.ws_current_connections += 1
        self.ws_connections_total += 1

    def ws_disconnected(self) -> None:
        self.ws_current_connections -= 1

    def ws_request(self, method: str) -> None:
        self.ws_requests["call" if method == "new" else method] += 1

    def http_request(self, method: str) -> None:
        self.http_requests["GET" if method == "HEAD" else method] += 1

    def refuse(self, limit: str) -> None:
        self.refused[limit] += 1


metrics = Metrics()


def render(m: Metrics | None = None, cache: tuple[int, int] = (0, 0)) -> bytes:
    """The OpenMetrics text of ``m`` (default: :data:`metrics`), ``# EOF`` terminated.

    ``cache`` is (cached resource names, the sum of their subscription counts).
    """
    m = m or metrics
    resources, subscriptions = cache
    python = {"version": platform.python_version(), "implementation": platform.python_implementation()}
    families: list[Family] = [
        ("python", "info", "Information about the Python environment.", [("_info", python, 1)]),
        ("resgate", "info", "Information about resgate.",
         [("_info", {"version": RESGATE_VERSION, "protocol": PROTOCOL_VERSION}, 1)]),
        *_process_families(),
        ("resgate_ws_current_connections", "gauge", "Current established WebSocket connections.",
         [("", {}, m.ws_current_connections)]),
        ("resgate_ws_connections", "counter", "Total established WebSocket connections.",
         [("_total", {}, m.ws_connections_total)]),
        ("resgate_ws_requests", "counter", "Total WebSocket client requests.",
         _by_method(m.ws_requests, WS_METHODS)),
        ("resgate_http_requests", "counter", "Total HTTP client requests.",
         _by_method(m.http_requests, HTTP_METHODS)),
        ("resgate_requests_refused", "counter", "Client requests refused by a limit of this gateway.",
         [("_total", {"limit": limit}, count) for limit, count in _by_key(m.refused, LIMITS)]),
        ("resgate_cache_resources", "gauge", "Current number of resources stored in the cache.",
         [("", {}, resources)]),
        ("resgate_cache_subscriptions", "gauge", "Current number of subscriptions on cached resources.",
         [("", {}, subscriptions)]),
    ]  # fmt: skip
    lines = []
    for name, kind, help, samples in families:
        lines += [f"# TYPE {name} {kind}", f"# HELP {name} {help}"]
        lines += [f"{name}{suffix}{_labels(labels)} {_number(value)}" for suffix, labels, value in samples]
    lines.append("# EOF\n")
    return "\n".join(lines).encode()


def _by_method(counts: Counter[str], always: tuple[str, ...]) -> list[Sample]:
    return [("_total", {"method": method}, count) for method, count in _by_key(counts, always)]


def _by_key(counts: Counter[str], always: tuple[str, ...]) -> list[tuple[str, int]]:
    """``always`` first, then any other key counted, with their counts."""
    return [(key, counts[key]) for key in [*always, *sorted(set(counts) - set(always))]]


def _labels(labels: Labels) -> str:
    pairs = ",".join(f'{key}="{_escape(value)}"' for key, value in labels.items())
    return f"{{{pairs}}}" if pairs else ""


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _process_families() -> list[Family]:
    """CPU time, memory, file descriptors and start time of this process (memory and the rest need procfs)."""
    times = os.times()
    values: list[tuple[str, str, str, float]] = [
        ("process_cpu_seconds", "counter", "Total user and system CPU time spent in seconds.",
         times.user + times.system),
        ("process_max_fds", "gauge", "Maximum number of open file descriptors.",
         resource.getrlimit(resource.RLIMIT_NOFILE)[0]),
    ]  # fmt: skip
    try:
        with open("/proc/self/stat") as f:
            stat = f.read().rsplit(")", 1)[1].split()  # fields from the 3rd on; the name may hold spaces
        with open("/proc/stat") as f:
            boot_time = next(float(line.split()[1]) for line in f if line.startswith("btime "))
    except (OSError, StopIteration):
        stat = []
    if stat:
        values += [
            ("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", int(stat[20])),
            ("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
             int(stat[21]) * resource.getpagesize()),
            ("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.",
             boot_time + int(stat[19]) / os.sysconf("SC_CLK_TCK")),
            ("process_open_fds", "gauge", "Number of open file descriptors.",
             len(os.listdir("/proc/self/fd"))),
        ]  # fmt: skip
    return [
        (name, kind, help, [("_total" if kind == "counter" else "", {}, value)])
        for name, kind, help, value in values
    ]
