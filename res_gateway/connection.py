"""One client's RES session, independent of the transport (no Channels here).

A :class:`Connection` keeps the client's token and is made of one part per job:

- ``client_requests.py``: the client's requests (``version``, ``subscribe``, ``unsubscribe``, ``get``,
  ``call``, ``auth``, ``new``);
- ``subscription_graph.py``: the subscriptions, their references and garbage collection;
- ``service_client.py``: access, call and auth requests to services;
- ``output.py``: responses and events written through one bounded queue.

The HTTP views use the same class with no ``send``, through :meth:`Connection.access`,
:meth:`~Connection.load`, :meth:`~Connection.call` and :meth:`~Connection.auth`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from res_protocol import InvalidValue
from res_protocol.codec import decode_token_event
from res_protocol.version import LATEST

from .client_requests import ClientRequests
from .conf import gateway_settings
from .limits import ConnectionLimits
from .output import Send, WriteBatch
from .service_client import ServiceReply
from .subscription import references
from .subscription_graph import Resource, ResourceTree
from .web.request import RequestInfo

if TYPE_CHECKING:
    from .gateway import Gateway

logger = logging.getLogger("res_gateway.connection")


class _Cids:
    """Connection IDs: 20 hex digits from the system's random source, as unguessable as one draw each, but
    drawn :data:`BATCH` at a time (one HTTP request is one connection). A forked worker draws its own."""

    BATCH = 256

    def __init__(self) -> None:
        self.ids: list[str] = []
        os.register_at_fork(after_in_child=self.forget)

    def forget(self) -> None:
        self.ids = []

    def next(self) -> str:
        if not self.ids:
            digits = secrets.token_hex(10 * self.BATCH)
            self.ids = [digits[i : i + 20] for i in range(0, len(digits), 20)]
        return self.ids.pop()


new_cid = _Cids().next


class Connection(ClientRequests):
    """One client session: requests, subscriptions, token and the events it receives."""

    def __init__(
        self,
        gateway: Gateway,
        *,
        request_info: RequestInfo | None = None,
        protocol: int = LATEST,
        send: Send | None = None,
        write_now: Callable[[deque[str]], bool] | None = None,
    ) -> None:
        self.gateway = gateway
        self.request_info = request_info or RequestInfo()
        self.protocol = protocol
        self.cid = new_cid()
        self.token = None
        self.tid: str | None = None
        self.token_generation = 0
        self.subs = {}
        self.closed = False
        self._send = send
        self._write_now = write_now
        self._writing = False
        self._flush_scheduled = False
        self._out = None
        self._pending = None
        self._writer: asyncio.Task[None] | None = None
        self._tasks = set()
        throttle = gateway_settings.reference_throttle
        self.load_limit = asyncio.Semaphore(throttle) if throttle else None
        self.limits = ConnectionLimits.from_settings()

    # --- lifecycle ----------------------------------------------------------------------------------

    async def open(self) -> Connection:
        """Register with the gateway, which hands it the ``conn.<cid>.*`` events."""
        await self.gateway.ready()
        if self._send is not None:
            self._out = deque()
            self._out_limit = gateway_settings.send_queue_size
        self.gateway.connections[self.cid] = self
        return self

    async def close(self) -> None:
        """Dispose of every subscription and stop listening; nothing of the session is kept."""
        if self.closed:
            return
        self.closed = True
        self.gateway.connections.pop(self.cid, None)
        for task in list(self._tasks):
            task.cancel()
        for sub in self.subs.values():
            sub.dispose()
        self.subs.clear()
        if self._writer is not None:
            self._writer.cancel()

    async def __aenter__(self) -> Connection:
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- tokens -------------------------------------------------------------------------------------

    def on_connection_event(self, event: str, payload: bytes) -> None:
        """A ``conn.<cid>.<event>`` event: ``token`` sets the token, any other is ignored."""
        if event != "token":
            return
        try:
            token, tid = decode_token_event(payload)
        except InvalidValue as e:
            logger.error("invalid token event for %s: %s", self.cid, e)
            return
        self.set_token(token, tid)

    def set_token(self, token: Any, tid: str | None = None) -> None:
        """Replace the token; access obtained with a previous non-null token is checked again."""
        had_token = self.token is not None
        self.token, self.tid = token, tid
        self.token_generation += 1
        if had_token:
            for sub in list(self.subs.values()):
                sub.on_reaccess()

    def reaccess(self) -> None:
        for sub in list(self.subs.values()):
            sub.on_reaccess()


__all__ = [
    "Connection",
    "RequestInfo",
    "Resource",
    "ResourceTree",
    "ServiceReply",
    "WriteBatch",
    "new_cid",
    "references",
]
