"""The per-process gateway: the NATS client, the shared cache and the live connections."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from res_protocol import compile_patterns, errors, loads

from .cache import Cache
from .conf import gateway_settings
from .connection import Connection
from .mq import MQClient, Subscription
from .mq.nats import NatsClient

logger = logging.getLogger("res_gateway")


class Gateway:
    """Owns the messaging client and the cache, and handles ``system.*`` events."""

    def __init__(self, mq: MQClient) -> None:
        self.mq = mq
        self.cache = Cache(
            mq,
            timeout=gateway_settings.request_timeout,
            unsubscribe_delay=gateway_settings.unsubscribe_delay,
            reset_throttle=gateway_settings.reset_throttle,
        )
        self.connections: dict[str, Connection] = {}
        self._system: Subscription | None = None
        self._starting: asyncio.Task[None] | None = None

    def start(self) -> asyncio.Task[None]:
        """Connect to NATS in the background (retrying until it answers); idempotent."""
        if self._starting is None:
            self._starting = asyncio.ensure_future(self._start())
        return self._starting

    async def _start(self) -> None:
        self.mq.on_reconnect = self._reconnected
        await self.mq.connect()
        self._system = await self.mq.subscribe("system.*", self._on_system)
        logger.info("gateway connected to NATS at %s", gateway_settings.nats_url)

    async def ready(self) -> None:
        """Wait until connected to NATS (up to the request timeout; then ``system.timeout``)."""
        try:
            await asyncio.wait_for(asyncio.shield(self.start()), gateway_settings.request_timeout)
        except TimeoutError:
            raise errors.internal_error("not connected to NATS")

    async def stop(self) -> None:
        """Close every connection, then the NATS connection."""
        global _gateway
        if _gateway is self:
            _gateway = None
        if self._starting is not None and not self._starting.done():
            self._starting.cancel()
        for conn in list(self.connections.values()):
            await conn.close()
        await self.mq.close()

    def _on_system(self, subject: str, payload: bytes) -> None:
        try:
            data = loads(payload) if payload else {}
            if not isinstance(data, dict):
                raise ValueError("not an object")
        except ValueError as e:
            logger.error("invalid %s event: %s", subject, e)
            return
        if subject == "system.reset":
            self.system_reset(data)
        elif subject == "system.tokenReset":
            self.token_reset(data)

    def system_reset(self, data: dict[str, Any]) -> None:
        resources = compile_patterns(data.get("resources"))
        access = compile_patterns(data.get("access"))
        if resources:
            asyncio.ensure_future(self.cache.reset(resources))
        if access:
            self.cache.reaccess(access)

    def token_reset(self, data: dict[str, Any]) -> None:
        subject, tids = data.get("subject"), data.get("tids")
        if not isinstance(subject, str) or not subject:
            logger.error("system.tokenReset without subject")
            return
        if not isinstance(tids, list) or not tids:
            return
        wanted = {t for t in tids if isinstance(t, str)}
        for conn in list(self.connections.values()):
            if conn.tid in wanted:
                asyncio.ensure_future(conn.token_reset(subject))

    async def _reconnected(self) -> None:
        """Back on NATS: fetch every cached resource again and check every subscription's access."""
        await self.cache.resync()
        for conn in list(self.connections.values()):
            conn.reaccess()


_gateway: Gateway | None = None


def get_gateway() -> Gateway:
    """The process's gateway, created on first use inside the running event loop and started once."""
    global _gateway
    if _gateway is None:
        _gateway = Gateway(NatsClient(gateway_settings.nats_url, buffer_size=gateway_settings.buffer_size))
        _gateway.start()
    return _gateway
