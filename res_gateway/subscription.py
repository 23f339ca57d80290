"""One client's subscription to one resource: counts, references, "sent" state, access and events."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import Counter
from typing import TYPE_CHECKING, Any

from res_protocol import Access, ResError, dumps_str, errors, hard_ref

from .cache import CacheEvent, ResourceSubscription, event_message

if TYPE_CHECKING:
    from .subscription_graph import SubscriptionGraph

logger = logging.getLogger("res_gateway.connection")


def references(kind: str, value: Any) -> list[str]:
    """Hard references held by a model or collection value."""
    items = value.values() if kind == "model" else value
    return [rid for rid in map(hard_ref, items) if rid is not None]


#: The references of every subscription holding none: shared, so never written to (see ``add_reference``).
NO_REFS: Counter[str] = Counter()


class Subscription:
    """A resource as one connection holds it, keyed by the rid the client uses.

    ``direct`` counts the client's subscribe requests; indirect holds come from ``refs`` of other loaded
    subscriptions. ``sent`` tells whether the client has the resource (issue #241: forgotten when nothing
    sent holds it any more). Events are applied as they come; while ``queue`` is a list they wait there.
    """

    __slots__ = (
        "conn", "rid", "cache_rid", "direct", "refs", "rs", "kind", "value", "error", "started", "loading",
        "sent", "deleted", "disposed", "queue", "holds", "access", "access_error", "access_pending",
    )  # fmt: skip

    def __init__(self, conn: SubscriptionGraph, rid: str, cache_rid: str) -> None:
        self.conn = conn
        self.rid = rid
        self.cache_rid = cache_rid
        self.direct = 0
        self.refs: Counter[str] = NO_REFS
        self.rs: ResourceSubscription | None = None
        self.kind = ""
        self.value: Any = None
        self.error: ResError | None = None
        self.started = False
        self.loading: asyncio.Future[Any] | None = None  # while loading
        self.sent = False
        self.deleted = False
        self.disposed = False
        self.queue: list[CacheEvent] | None = None
        self.holds = 0
        self.access: Access | None = None
        self.access_error: ResError | None = None
        self.access_pending: asyncio.Future[Access] | None = None

    def __repr__(self) -> str:
        return f"<Subscription {self.rid} direct={self.direct} sent={self.sent}>"

    @property
    def is_loaded(self) -> bool:
        return bool(self.kind)

    # --- loading ------------------------------------------------------------------------------------

    def load(self, retry: bool = False) -> None:
        """Start loading once (again after an error when ``retry``); a cached resource loads at once."""
        if self.started and not (retry and self.error is not None and self.loading is None):
            return
        self.started = True
        self.error = None
        self.sent = False
        limit = self.conn.load_limit
        if limit is not None:  # referenceThrottle: loads wait for their turn
            self.loading = asyncio.ensure_future(self._load_throttled(limit))
            return
        subscribed = self.conn.gateway.cache.subscribe(self.cache_rid, self)
        if subscribed.done():
            self._subscribed(subscribed)
        else:
            self.loading = subscribed
            subscribed.add_done_callback(self._subscribed)

    async def _load_throttled(self, limit: asyncio.Semaphore) -> None:
        async with limit:
            subscribed = self.conn.gateway.cache.subscribe(self.cache_rid, self)
            await asyncio.wait((subscribed,))
        self._subscribed(subscribed)

    def _subscribed(self, subscribed: asyncio.Future[ResourceSubscription]) -> None:
        self.loading = None
        error = subscribed.exception()
        if error is not None:
            self.error = error if isinstance(error, ResError) else errors.internal_error(str(error))
            return
        rs = subscribed.result()
        if self.disposed:
            self.conn.gateway.cache.unsubscribe(rs, self)
            return
        self.rs, self.kind, self.value = rs, rs.kind, rs.value
        for rid in references(rs.kind, rs.value):
            self.conn.add_reference(self, rid)

    async def loaded(self) -> None:
        """Start loading if not started; return once loaded (or failed). A waiter cancelled stops nothing."""
        self.load()
        if self.loading is not None:
            await asyncio.wait((self.loading,))

    def dispose(self) -> None:
        """Leave the cache; an access request in flight still answers whoever awaits it."""
        self.disposed = True
        if self.rs is not None:
            self.conn.gateway.cache.unsubscribe(self.rs, self)
            self.rs = None

    # --- access -------------------------------------------------------------------------------------

    async def get_access(self) -> Access:
        """The cached access, or one shared access request; only results and accessDenied are cached."""
        access = self.cached_access()
        if access is not None:
            return access
        return await asyncio.shield(self.access_request())

    def cached_access(self) -> Access | None:
        """The cached access, or None; raises a cached accessDenied."""
        if self.access_error is not None:
            raise self.access_error()
        return self.access

    def access_request(self) -> asyncio.Future[Access]:
        """The access request in flight, sent now if none is (its outcome is cached as it comes)."""
        pending = self.access_pending
        if pending is None:
            pending = self.access_pending = self.conn.request_access(self.cache_rid)
            pending.add_done_callback(functools.partial(self._accessed, self.conn.token_generation))
        return pending

    def _accessed(self, generation: int, pending: asyncio.Future[Access]) -> None:
        """Cache the access (or accessDenied) if the token did not change meanwhile."""
        self.access_pending = None
        error = pending.exception()
        if generation != self.conn.token_generation:
            return
        if error is None:
            self.access = pending.result()
        elif isinstance(error, ResError) and error.code == errors.CODE_ACCESS_DENIED:
            self.access_error = error

    def clear_access(self) -> None:
        """Forget the cached access; a request in flight is shared (its result is cached only if current)."""
        self.access = None
        self.access_error = None

    def on_reaccess(self) -> None:
        self.clear_access()
        if self.direct > 0:
            self.hold()
            asyncio.ensure_future(self._reaccess())

    async def _reaccess(self) -> None:
        try:
            access = await self.get_access()
            if not access.get:
                raise errors.ACCESS_DENIED()
        except ResError as e:
            if self.direct > 0 and not self.disposed:
                self.conn.write(event_message(self.rid, "unsubscribe", dumps_str({"reason": e.to_dict()})))
                self.direct = 0
                self.conn.collect_garbage()
        finally:
            self.release()

    # --- events -------------------------------------------------------------------------------------

    def hold(self) -> None:
        """Keep events waiting, in order, until every :meth:`hold` has been released."""
        self.holds += 1
        if self.queue is None:
            self.queue = []

    def release(self) -> None:
        self.holds -= 1
        if self.holds:
            return
        queue, self.queue = self.queue or [], None
        while queue:
            self.on_event(queue.pop(0))
            if self.holds:  # held again: the rest waits behind
                assert self.queue is not None
                self.queue.extend(queue)
                return

    def on_event(self, event: CacheEvent) -> None:
        if self.queue is not None:
            self.queue.append(event)
            return
        if self.disposed:
            return
        name = event.name
        if name in ("change", "add", "remove"):
            self._apply(event, *event.refs())
        elif name == "delete":
            self._deleted(event)
        elif self.sent:
            self.conn.write(event.text(self.rid, self.conn.modern))

    def _apply(self, event: CacheEvent, added: list[str], removed: list[str]) -> None:
        self.value = event.value
        targets = [self.conn.add_reference(self, rid) for rid in added] if added else ()
        for rid in removed:
            self.conn.remove_reference(self, rid)
        if not self.sent:
            return
        if not targets or all(t.sent for t in targets):
            self.conn.write(event.text(self.rid, self.conn.modern))
            return
        self.hold()
        asyncio.ensure_future(self._send_with_resources(event, targets))

    async def _send_with_resources(self, event: CacheEvent, targets: list[Subscription]) -> None:
        """Send an event bringing new references, with the resources the client lacks."""
        try:
            await self.conn.wait_loaded(targets)
            if self.sent and not self.disposed:
                data = dict(event.data_for(self.conn.modern) or {})
                data.update(self.conn.resource_set(targets))
                self.conn.write(event_message(self.rid, event.name, dumps_str(data)))
        finally:
            self.release()

    def _deleted(self, event: CacheEvent) -> None:
        self.deleted = True
        self.rs = None
        if self.sent:
            self.conn.write(event.text(self.rid, self.conn.modern))
        if self.direct > 0:
            reason = dumps_str({"reason": errors.DELETED.to_dict()})
            self.conn.write(event_message(self.rid, "unsubscribe", reason))
            self.direct = 0
        for rid in references(self.kind, self.value):
            self.conn.remove_reference(self, rid)
        self.conn.collect_garbage()
