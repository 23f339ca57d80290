"""The per-process gateway: the NATS client, the shared cache and the live connections."""

from __future__ import annotations

import asyncio
import logging
import ssl
from typing import Any

from res_protocol import InvalidValue, errors
from res_protocol.codec import SystemReset, TokenReset, decode_system_reset, decode_token_reset

from .cache import Cache
from .conf import ConfigError, GatewaySettings, gateway_settings
from .connection import Connection, WriteBatch
from .inspection import Inspector
from .mq import MQClient, Subscription
from .mq.nats import NatsClient

logger = logging.getLogger("res_gateway")


class Gateway:
    """Owns the messaging client and the cache, and handles ``system.*`` and ``conn.*.*`` events."""

    def __init__(self, mq: MQClient) -> None:
        self.mq = mq
        self.cache = Cache(
            mq,
            timeout=gateway_settings.request_timeout,
            unsubscribe_delay=gateway_settings.unsubscribe_delay,
            reset_throttle=gateway_settings.reset_throttle,
        )
        self.connections: dict[str, Connection] = {}
        self.write_batch = WriteBatch()
        self.inspector = Inspector(self)
        self._system: Subscription | None = None
        self._connection_events: Subscription | None = None
        self._starting: asyncio.Task[None] | None = None
        #: Set when :meth:`stop` begins, and kept: new connections are refused as the service unavailable.
        self.stopping = False

    def start(self) -> asyncio.Task[None]:
        """Connect to NATS in the background (retrying until it answers); idempotent."""
        if self._starting is None:
            self._starting = asyncio.ensure_future(self._start())
        return self._starting

    async def _start(self) -> None:
        self.mq.on_reconnect = self._reconnected
        await self.mq.connect()
        self._system = self.mq.subscribe("system.*", self._on_system)
        # One subscription for every connection's events, as resgate's one per connection would receive.
        self._connection_events = self.mq.subscribe("conn.*.*", self._on_connection_event)
        self.inspector.serve()
        logger.info("gateway connected to NATS at %s", gateway_settings.nats_url)

    async def ready(self) -> None:
        """Wait until connected to NATS (up to the request timeout; then ``system.timeout``).

        Once stopping, raises ``system.serviceUnavailable``.
        """
        if self.stopping:
            raise errors.SERVICE_UNAVAILABLE()
        starting = self.start()
        if starting.done() and not starting.cancelled() and starting.exception() is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(starting), gateway_settings.request_timeout)
        except TimeoutError:
            raise errors.internal_error("not connected to NATS")

    async def stop(self) -> None:
        """Refuse new connections from now on, close every open one, then the NATS connection."""
        self.stopping = True
        if self._starting is not None and not self._starting.done():
            self._starting.cancel()
        for conn in list(self.connections.values()):
            await conn.close()
        await self.mq.close()

    def _on_system(self, subject: str, payload: bytes) -> None:
        try:
            if subject == "system.reset":
                self.system_reset(decode_system_reset(payload))
            elif subject == "system.tokenReset":
                self.token_reset(decode_token_reset(payload))
        except InvalidValue as e:
            logger.error("invalid %s event: %s", subject, e)

    def _on_connection_event(self, subject: str, payload: bytes) -> None:
        """``conn.<cid>.<event>`` to the connection ``cid``, if it is one of this gateway's."""
        _, cid, event = subject.split(".", 2)
        conn = self.connections.get(cid)
        if conn is not None:
            conn.on_connection_event(event, payload)

    def system_reset(self, event: SystemReset) -> None:
        if event.resources:
            asyncio.ensure_future(self.cache.reset(event.resources))
        if event.access:
            self.cache.reaccess(event.access)

    def token_reset(self, event: TokenReset) -> None:
        for conn in list(self.connections.values()):
            if conn.tid in event.tids:
                asyncio.ensure_future(conn.token_reset(event.subject))

    async def _reconnected(self) -> None:
        """Back on NATS: fetch every cached resource again and check every subscription's access."""
        await self.cache.resync()
        for conn in list(self.connections.values()):
            conn.reaccess()


_gateway: Gateway | None = None


def get_gateway() -> Gateway:
    """The process's gateway, created on first use inside the running event loop and started once.

    Once stopped it stays the process's gateway, refusing new connections.
    """
    global _gateway
    if _gateway is None:
        _gateway = Gateway(nats_client(gateway_settings))
        _gateway.start()
    return _gateway


def nats_client(config: GatewaySettings) -> NatsClient:
    """A NATS client for the configured URL, user credentials and TLS files."""
    options: dict[str, Any] = {}
    if config.nats_creds:
        options["user_credentials"] = config.nats_creds
    tls = nats_tls(config)
    if tls is not None:
        options["tls"] = tls
    return NatsClient(config.nats_url, **options)


def nats_tls(config: GatewaySettings) -> ssl.SSLContext | None:
    """The TLS context for NATS (None when no file is set).

    Root CAs given replace the system's, as in resgate; the client certificate is shown when asked for.
    """
    if not config.nats_root_cas and not config.nats_cert:
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies the certificate and the host name
    if not config.nats_root_cas:
        context.load_default_certs()
    for path in config.nats_root_cas:
        try:
            context.load_verify_locations(cafile=path)
        except (OSError, ssl.SSLError) as e:
            raise ConfigError(f"invalid natsRootCAs setting ({path!r}): cannot load the CA file: {e}")
    if config.nats_cert:
        try:
            context.load_cert_chain(config.nats_cert, config.nats_key)
        except (OSError, ssl.SSLError) as e:
            raise ConfigError(
                f"invalid natsCert setting ({config.nats_cert!r}): cannot load it with natsKey: {e}"
            )
    return context


async def stop_gateway(grace: float = 3.0) -> None:
    """Stop the process's gateway if one was created, giving it ``grace`` seconds; failures are logged."""
    if _gateway is None:
        return
    try:
        await asyncio.wait_for(_gateway.stop(), grace)
    except Exception:
        logger.exception("Stopping the gateway failed")
