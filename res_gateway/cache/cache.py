"""The per-process resource cache shared by every connection.

Resources are grouped by resource name in an :class:`~.event_subscription.EventSubscription` each,
which keeps them current from the service's events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from typing import Any

from res_protocol import Pattern, ResError, split_rid

from ..mq import MQClient
from .event_subscription import EventSubscription
from .resource import ResourceSubscription, Subscriber

logger = logging.getLogger("res_gateway.cache")


class Cache:
    """Resources by name, fetched once and kept current for every connection of the process."""

    def __init__(
        self, mq: MQClient, *, timeout: float, unsubscribe_delay: float = 5.0, reset_throttle: int = 0
    ) -> None:
        self.mq = mq
        self.timeout = timeout
        self.unsubscribe_delay = unsubscribe_delay
        self.reset_limit: Any = (
            asyncio.Semaphore(reset_throttle) if reset_throttle else contextlib.nullcontext()
        )
        self.event_subscriptions: dict[str, EventSubscription] = {}

    async def event_subscription(self, name: str) -> EventSubscription:
        """The entry for ``name``, subscribed to its events, with its count raised (call ``release``)."""
        es = self.event_subscriptions.get(name)
        if es is None:
            es = EventSubscription(self, name)
            self.event_subscriptions[name] = es
            es.ready = asyncio.ensure_future(self._subscribe_events(es))
        es.acquire()
        assert es.ready is not None  # set with the entry, above
        try:
            await asyncio.shield(es.ready)
        except BaseException:
            es.release()
            raise
        return es

    async def _subscribe_events(self, es: EventSubscription) -> None:
        es.nats_sub = await self.mq.subscribe(f"event.{es.name}.*", es.on_message)
        if self.event_subscriptions.get(es.name) is not es:  # evicted while subscribing
            await es.nats_sub.unsubscribe()

    async def subscribe(self, rid: str, subscriber: Subscriber) -> ResourceSubscription:
        """Load ``rid`` (a cache rid: name and query) and add ``subscriber``; raises the get error.

        A reaccess event arriving while it loads is passed on to the subscriber once it is added.
        """
        name, query = split_rid(rid)
        es = await self.event_subscription(name)
        reaccesses = es.reaccesses
        outcome = await asyncio.shield(es.load(query).loaded)
        if isinstance(outcome, ResError):
            es.release()
            raise outcome()
        outcome.subscribers.add(subscriber)
        if es.reaccesses != reaccesses and outcome is es.base:
            asyncio.get_running_loop().call_soon(subscriber.on_reaccess)
        return outcome

    def cached(self, rid: str) -> ResourceSubscription | None:
        """The resource for a cache rid if it is loaded now; nothing is requested."""
        name, query = split_rid(rid)
        es = self.event_subscriptions.get(name)
        rs = es.find(query) if es is not None else None
        return rs if rs is not None and rs.is_loaded else None

    def hold(self, rids: Iterable[str]) -> list[EventSubscription]:
        """Keep cached rids from eviction until :meth:`release`, as subscribing to each would."""
        held = [self.event_subscriptions[split_rid(rid)[0]] for rid in rids]
        for es in held:
            es.acquire()
        return held

    def release(self, held: list[EventSubscription]) -> None:
        for es in held:
            es.release()

    def unsubscribe(self, rs: ResourceSubscription, subscriber: Subscriber) -> None:
        if subscriber in rs.subscribers:
            rs.subscribers.discard(subscriber)
            rs.es.unsubscribed(rs)

    async def request(self, name: str, subject: str, payload: bytes) -> bytes:
        """A request about resource ``name`` whose reply is delivered after the name's earlier events."""
        reply = await self.mq.request(subject, payload, self.timeout)
        es = self.event_subscriptions.get(name)
        if es is not None:
            await es.barrier()
        return reply

    def matching(self, patterns: Iterable[Pattern]) -> list[EventSubscription]:
        patterns = list(patterns)
        return [es for name, es in self.event_subscriptions.items() if any(p.matches(name) for p in patterns)]

    async def reset(self, patterns: Iterable[Pattern]) -> None:
        await asyncio.gather(*(es.reset() for es in self.matching(patterns)))

    async def resync(self, attempts: int = 10, pause: float = 1.0) -> None:
        """Fetch every cached resource anew after a reconnect, retrying those whose service is not back."""
        pending = [rs for es in list(self.event_subscriptions.values()) for rs in es.resources()]
        for attempt in range(attempts):
            fetched = await asyncio.gather(*(rs.es.reset([rs], resync=True) for rs in pending))
            pending = [rs for rs, (ok,) in zip(pending, fetched, strict=True) if not ok and rs.subscribers]
            if not pending:
                return
            if attempt < attempts - 1:
                await asyncio.sleep(pause)
        logger.warning("%d cached resources could not be fetched again after reconnecting", len(pending))

    def reaccess(self, patterns: Iterable[Pattern]) -> None:
        """Every subscriber of resources matching ``patterns`` checks access again."""
        for es in self.matching(patterns):
            for rs in es.resources():
                for sub in list(rs.subscribers):
                    sub.on_reaccess()
