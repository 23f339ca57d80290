"""Counters behind the OpenMetrics endpoint (resgate's metric names)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Metrics:
    ws_current_connections: int = 0
    ws_connections_total: int = 0
    ws_requests: Counter[str] = field(default_factory=Counter)  # get, subscribe, unsubscribe, call, auth
    http_requests: Counter[str] = field(default_factory=Counter)  # GET, POST, PUT, DELETE, PATCH

    def ws_connected(self) -> None:
        self.ws_current_connections += 1
        self.ws_connections_total += 1

    def ws_disconnected(self) -> None:
        self.ws_current_connections -= 1

    def ws_request(self, method: str) -> None:
        self.ws_requests["call" if method == "new" else method] += 1

    def http_request(self, method: str) -> None:
        self.http_requests["GET" if method == "HEAD" else method] += 1


metrics = Metrics()
