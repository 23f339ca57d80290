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

from ..mq import MQClient, reply_of
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

    def event_subscription(self, name: str) -> EventSubscription:
        """The entry for ``name``, subscribed to its events, with its count raised (call ``release``).

        Raises what subscribing raises (the connection closing); nothing is kept then.
        """
        es = self.event_subscriptions.get(name)
        if es is None:
            es = EventSubscription(self, name)
            es.nats_sub = self.mq.subscribe(f"event.{name}.*", es.on_message)
            self.event_subscriptions[name] = es
        es.acquire()
        return es

    def subscribe(self, rid: str, subscriber: Subscriber) -> asyncio.Future[ResourceSubscription]:
        """Load ``rid`` (a cache rid: name and query) and add ``subscriber``: the future of the resource,
        or of the get error. Done at once when the resource is cached: no task, nothing awaited.

        A reaccess event arriving while it loads is passed on to the subscriber once it is added.
        """
        name, query = split_rid(rid)
        outcome: asyncio.Future[ResourceSubscription] = asyncio.get_running_loop().create_future()
        try:
            es = self.event_subscription(name)
        except Exception as e:
            outcome.set_exception(e)
            return outcome
        reaccesses = es.reaccesses

        def loaded(rs: ResourceSubscription) -> None:
            result = rs.loaded.result()
            if isinstance(result, ResError):
                es.release()
                outcome.set_exception(result())
                return
            result.subscribers.add(subscriber)
            if es.reaccesses != reaccesses and result is es.base:
                asyncio.get_running_loop().call_soon(subscriber.on_reaccess)
            outcome.set_result(result)

        rs = es.load(query)
        if rs.loaded.done():
            loaded(rs)
        else:
            rs.loaded.add_done_callback(lambda _: loaded(rs))
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

    def request(self, name: str, subject: str, payload: bytes) -> asyncio.Future[bytes]:
        """A request about resource ``name`` whose reply is delivered after the name's earlier events."""
        delivered: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        request = asyncio.ensure_future(self.mq.request(subject, payload, self.timeout))

        def deliver(reply: bytes | ResError) -> None:
            if delivered.done():  # its caller stopped waiting
                return
            if isinstance(reply, ResError):
                delivered.set_exception(reply)
            else:
                delivered.set_result(reply)

        def replied(request: asyncio.Future[bytes]) -> None:
            reply = reply_of(request)
            es = self.event_subscriptions.get(name)
            if es is None or isinstance(reply, ResError):
                deliver(reply)
            else:
                es.enqueue(lambda: deliver(reply))

        request.add_done_callback(replied)
        return delivered

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
