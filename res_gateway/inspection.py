"""Answers inspection requests: what this gateway process holds right now (``res_protocol.inspection``).

Everything is read from state the gateway keeps anyway (its connections, their subscriptions, the cache)
when a request comes; nothing is counted per event. Client-side IDs (connection IDs, tokens) stay out.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import time
from collections import Counter
from typing import TYPE_CHECKING

from res_protocol import dumps
from res_protocol.inspection import SUBJECT, GatewayReport

from .conf import RESGATE_VERSION, gateway_settings
from .mq import Subscription

if TYPE_CHECKING:
    from .gateway import Gateway

logger = logging.getLogger("res_gateway")


class Inspector:
    """One gateway's answer to inspection requests."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.host = socket.gethostname()
        self.id = f"{self.host}-{os.getpid()}-{secrets.token_hex(3)}"
        self.started = time.time()

    def serve(self) -> Subscription:
        """Answer every request on :data:`~res_protocol.inspection.SUBJECT` from now on."""
        return self.gateway.mq.serve(SUBJECT, self.answer)

    def answer(self, payload: bytes) -> bytes:
        return dumps(self.report())

    def report(self) -> GatewayReport:
        gateway = self.gateway
        connections = [conn for conn in gateway.connections.values() if not conn.closed]
        holders = Counter(rid for conn in connections for rid in conn.subs)
        backlogs = [conn.backlog for conn in connections]
        cached = list(gateway.cache.event_subscriptions.values())
        return {
            "id": self.id,
            "host": self.host,
            "pid": os.getpid(),
            "version": RESGATE_VERSION,
            "started": self.started,
            "uptime": round(time.time() - self.started, 3),
            "nats_connected": gateway.mq.connected,
            "connections": len(connections),
            "subscriptions": holders.total(),
            "resources": dict(sorted(holders.items())),
            "cache": {"resources": len(cached), "subscriptions": sum(es.count for es in cached)},
            "slow_consumers": sum(1 for n in backlogs if n > gateway_settings.send_queue_size // 2),
            "queued_messages": sum(backlogs),
        }
