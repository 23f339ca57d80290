"""Everything cached under one resource name.

An :class:`EventSubscription` owns the NATS subscription ``event.<name>.*`` and a FIFO work queue:
events, get replies and the completion of access/call/auth requests for that name run through it in
arrival order, so a client always sees the events a service sent before it replied.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from res_protocol import ResError, dumps, errors
from res_protocol.codec import (
    GetResult,
    decode_get_response,
    decode_query_event,
    decode_query_response,
)

from ..mq import NoResponders, Subscription, reply_of
from .resource import ResourceSubscription

if TYPE_CHECKING:
    from .cache import Cache

logger = logging.getLogger("res_gateway.cache")

Work = Callable[[], Awaitable[Any] | None]

#: Gets a reset repeats at most while events keep arriving (and being dropped) during its get.
REFETCHES = 3


class EventSubscription:
    """Everything cached under one resource name."""

    def __init__(self, cache: Cache, name: str) -> None:
        self.cache = cache
        self.name = name
        self.base: ResourceSubscription | None = None  # the resource without query
        self.queries: dict[str, ResourceSubscription] = {}  # by normalized query
        self.links: dict[str, ResourceSubscription] = {}  # requested query ("" for none) -> resource
        self.count = 0
        self.reaccesses = 0  # reaccess events seen, so loading subscribers can tell they missed one
        self.nats_sub: Subscription | None = None
        self._queue: deque[Work] = deque()
        self._busy = False
        self._evict: asyncio.TimerHandle | None = None

    # --- the work queue -----------------------------------------------------------------------------

    def enqueue(self, work: Work) -> None:
        """Run ``work`` after everything queued before it (at once when the queue is idle)."""
        self._queue.append(work)
        if not self._busy:
            self._drain()

    def _drain(self) -> None:
        self._busy = True
        while self._queue:
            work = self._queue.popleft()
            try:
                result = work()
            except Exception:
                logger.exception("error handling work for %s", self.name)
                continue
            if result is not None and inspect.isawaitable(result):  # most work is done when it returns
                asyncio.ensure_future(self._finish(result))
                return
        self._busy = False

    async def _finish(self, awaitable: Awaitable[Any]) -> None:
        try:
            await awaitable
        except Exception:
            logger.exception("error handling work for %s", self.name)
        self._drain()

    async def barrier(self) -> None:
        """Wait until everything queued so far has run."""
        done = asyncio.get_running_loop().create_future()
        self.enqueue(lambda: done.set_result(None))
        await done

    # --- reference count and eviction ---------------------------------------------------------------

    def acquire(self) -> None:
        self.count += 1
        if self._evict is not None:
            self._evict.cancel()
            self._evict = None

    def release(self) -> None:
        """One use fewer; the last one evicts after ``unsubscribe_delay`` (at once when it is 0, or when
        nothing loaded is kept: a refused or failed get leaves no event subscription behind)."""
        self.count -= 1
        if self.count == 0:
            if self.cache.unsubscribe_delay and (self.base is not None or self.queries):
                self._evict = asyncio.get_running_loop().call_later(
                    self.cache.unsubscribe_delay, self._evicted
                )
            else:
                self._evicted()

    def _evicted(self) -> None:
        self._evict = None
        if self.count == 0 and self.cache.event_subscriptions.get(self.name) is self:
            del self.cache.event_subscriptions[self.name]
            if self.nats_sub is not None:
                self.nats_sub.unsubscribe()

    # --- resources ----------------------------------------------------------------------------------

    def resources(self) -> list[ResourceSubscription]:
        """Every loaded resource under this name."""
        found = [self.base] if self.base is not None else []
        return [rs for rs in found + list(self.queries.values()) if rs.is_loaded]

    def forget(self, rs: ResourceSubscription) -> None:
        """Unregister a resource, so the next subscriber fetches it again."""
        if self.base is rs:
            self.base = None
        if self.queries.get(rs.query) is rs:
            del self.queries[rs.query]
        for key in [k for k, v in self.links.items() if v is rs]:
            del self.links[key]

    def on_message(self, subject: str, payload: bytes) -> None:
        event = subject[len(self.name) + 7 :]
        self.enqueue(lambda: self._handle_event(event, payload))

    def _handle_event(self, event: str, payload: bytes) -> Awaitable[None] | None:
        if event == "query":
            return self._handle_query_event(payload)
        if event == "reaccess":
            self.reaccesses += 1
        if self.base is not None and self.base.is_loaded:
            self.base.handle_event(event, payload)
        return None

    async def _handle_query_event(self, payload: bytes) -> None:
        try:
            subject = decode_query_event(payload)
        except ResError as e:
            logger.error("query event for %s: %s", self.name, e.message)
            return
        queries = [rs for rs in self.queries.values() if rs.is_loaded]
        await asyncio.gather(*(self._query(rs, subject) for rs in queries))

    async def _query(self, rs: ResourceSubscription, subject: str) -> None:
        try:
            payload = await self.cache.mq.request(subject, dumps({"query": rs.query}), self.cache.timeout)
        except ResError as e:
            if e.code != errors.CODE_TIMEOUT:
                logger.error("query request %s for %s: %s", subject, rs.rid, e)
            return
        try:
            result = decode_query_response(payload)
        except ResError as e:
            if e.code == errors.CODE_NOT_FOUND:
                rs.delete()
            else:
                logger.error("query request %s for %s: %s", subject, rs.rid, e)
            return
        if result.resource is not None:
            rs.replace(result.resource.kind, result.resource.value)
            return
        for name, data in result.events:
            rs.handle_event(name, b"" if data is None else dumps(data))

    # --- loading ------------------------------------------------------------------------------------

    def find(self, query: str) -> ResourceSubscription | None:
        """The resource for a requested query if it is cached or loading; nothing is requested."""
        return self.links.get(query) or (self.queries.get(query) if query else None)

    def load(self, query: str) -> ResourceSubscription:
        """The resource for a requested query: cached, loading, or requested now."""
        rs = self.find(query)
        if rs is None:
            rs = ResourceSubscription(self, query)
            self.links[query] = rs
            payload = dumps({"query": query}) if query else b"{}"
            request = asyncio.ensure_future(
                self.cache.mq.request(f"get.{self.name}", payload, self.cache.timeout)
            )
            request.add_done_callback(lambda request: self._got(rs, query, reply_of(request)))
        return rs

    def _got(self, rs: ResourceSubscription, query: str, reply: bytes | ResError) -> None:
        if isinstance(reply, ResError):
            self.enqueue(lambda: self._loaded(rs, query, error=reply))
        else:
            self.enqueue(lambda: self._loaded(rs, query, reply=reply))

    def _loaded(
        self, rs: ResourceSubscription, query: str, reply: bytes = b"", error: ResError | None = None
    ) -> None:
        try:
            if error is not None:
                raise error()
            result = decode_get_response(reply)
        except ResError as e:
            if self.links.get(query) is rs:
                del self.links[query]
            if e.code == errors.CODE_INTERNAL_ERROR:
                logger.error("get.%s: %s", self.name, e.message)
            rs.loaded.set_result(e)
            return
        target = self._register(rs, result.query)
        if target is rs:
            rs.set_value(result.kind, result.value)
        self.links[query] = target
        rs.loaded.set_result(target)

    def _register(self, rs: ResourceSubscription, normalized: str | None) -> ResourceSubscription:
        """File a freshly loaded resource under its real identity; an equal one already cached wins."""
        if normalized is None:
            if self.base is not None and self.base.is_loaded:
                return self.base
            self.base = rs
            rs.query = ""
            return rs
        existing = self.queries.get(normalized)
        if existing is not None and existing.is_loaded:
            return existing
        rs.query = normalized
        rs.is_query = True
        self.queries[normalized] = rs
        return rs

    def unsubscribed(self, rs: ResourceSubscription) -> None:
        """A subscriber left; query resources nobody holds are dropped at once."""
        if rs.is_query and not rs.subscribers:
            self.forget(rs)
        self.release()

    # --- reset --------------------------------------------------------------------------------------

    async def reset(
        self, resources: list[ResourceSubscription] | None = None, resync: bool = False
    ) -> list[bool]:
        """Fetch cached resources anew and turn the differences into events.

        With ``resync`` (after a NATS reconnect) a service that is not back yet (no responders or a
        timeout) leaves the cache as it is; the result tells which resources were fetched.
        """
        resources = self.resources() if resources is None else resources
        return list(await asyncio.gather(*(self._reset(rs, resync) for rs in resources)))

    async def _reset(self, rs: ResourceSubscription, resync: bool) -> bool:
        """Fetch ``rs`` anew; again while events were dropped during the get (up to ``REFETCHES`` times).

        Another instance of the service may have committed and sent an event after the instance
        answering the get read its state: the reply then lacks what the dropped event carried.
        """
        for _ in range(REFETCHES + 1):
            fetched, dropped = await self._fetch(rs, resync)
            if not dropped:
                return fetched
        logger.warning(
            "%s kept changing while being fetched again; giving up after %d refetches", rs.rid, REFETCHES
        )
        return True

    async def _fetch(self, rs: ResourceSubscription, resync: bool) -> tuple[bool, bool]:
        """One reset get of ``rs``, applied in queue order: (fetched, an event was dropped meanwhile)."""
        async with self.cache.reset_limit:
            rs.resetting, rs.dropped = True, False
            payload = dumps({"query": rs.query}) if rs.is_query else b"{}"
            result: ResError | GetResult
            try:
                reply = await self.cache.mq.request(f"get.{self.name}", payload, self.cache.timeout)
                result = decode_get_response(reply)
            except ResError as e:
                result = e
        unreachable = isinstance(result, ResError) and (
            isinstance(result, NoResponders) or result.code == errors.CODE_TIMEOUT
        )
        done: asyncio.Future[tuple[bool, bool]] = asyncio.get_running_loop().create_future()

        def apply() -> None:
            dropped, rs.resetting, rs.dropped = rs.dropped, False, False
            if resync and unreachable:
                done.set_result((False, False))
                return
            if isinstance(result, ResError):
                done.set_result((True, False))
                if result.code == errors.CODE_NOT_FOUND:
                    rs.delete()
                else:
                    logger.error("reset get.%s: %s", rs.rid, result)
                return
            rs.replace(result.kind, result.value)
            done.set_result((True, dropped))

        self.enqueue(apply)
        return await done
