"""A connection's subscriptions as a graph: direct holds, references, garbage collection, resource sets.

A subscription is held while the client subscribed to it directly or something held references it;
the rest (cycles included) is disposed of. The client is sent each resource once, with what it
references that the client lacks.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from res_protocol import ResError, errors, expand_cid
from res_protocol.version import MODERN

from .cache import client_collection, client_values
from .conf import gateway_settings
from .output import OutputQueue
from .service_client import ServiceClient
from .subscription import NO_REFS, Subscription


@dataclass
class Resource:
    kind: str  # "model" or "collection"
    value: dict[str, Any] | list[Any]


@dataclass
class ResourceTree:
    rid: str
    resources: dict[str, Resource]
    errors: dict[str, ResError]


class SubscriptionGraph(ServiceClient, OutputQueue):
    """The subscriptions of one connection, keyed by the rid the client uses.

    They load through service requests, and write their events to the output queue.
    """

    # The connection's, set up by it.
    subs: dict[str, Subscription]
    protocol: int
    token_generation: int  # counts token changes: access obtained under an older token is stale
    load_limit: asyncio.Semaphore | None  # referenceThrottle: resources loaded at once

    @property
    def modern(self) -> bool:
        """Whether the client takes soft references and data values as they are."""
        return self.protocol >= MODERN

    def subscription(self, rid: str) -> Subscription:
        """The client's subscription for ``rid`` (created when missing; reloaded after delete)."""
        sub = self.subs.get(rid)
        if sub is None or sub.deleted:
            old = sub
            sub = Subscription(self, rid, expand_cid(rid, self.cid))
            if old is not None:
                sub.direct = old.direct
            self.subs[rid] = sub
        return sub

    def _add_direct(self, sub: Subscription) -> None:
        if sub.direct >= gateway_settings.subscription_limit:
            raise errors.SUBSCRIPTION_LIMIT_EXCEEDED()
        sub.direct += 1
        sub.load(retry=True)

    def _drop_direct(self, sub: Subscription) -> None:
        sub.direct -= 1
        self.collect_garbage()

    def add_reference(self, parent: Subscription, rid: str) -> Subscription:
        """``parent`` holds a hard reference to ``rid``: subscribe it indirectly."""
        if parent.refs is NO_REFS:
            parent.refs = Counter()
        parent.refs[rid] += 1
        sub = self.subscription(rid)
        sub.load()
        return sub

    def remove_reference(self, parent: Subscription, rid: str) -> None:
        refs = parent.refs
        count = refs.get(rid, 0) - 1
        if count > 0:
            refs[rid] = count
        else:
            refs.pop(rid, None)
            self.collect_garbage()

    def _walk(self, roots: Iterable[Subscription], only_sent: bool = False) -> Iterator[Subscription]:
        """Each subscription reachable from ``roots`` once; its references are read only after it is yielded,
        so a caller may wait for it to load first. With ``only_sent``, only through subscriptions sent."""
        seen: set[str] = set()
        todo = list(roots)
        while todo:
            sub = todo.pop()
            if sub.rid in seen:
                continue
            seen.add(sub.rid)
            yield sub
            if not only_sent or sub.sent:
                todo.extend(self.subs[r] for r in sub.refs if r in self.subs and r not in seen)

    async def wait_loaded(self, roots: Iterable[Subscription]) -> None:
        """Wait until every subscription reachable from ``roots`` has loaded (or failed)."""
        for sub in self._walk(roots):
            await sub.loaded()

    def loading_reachable(self, roots: Iterable[Subscription]) -> Subscription | None:
        """A subscription reachable from ``roots`` that is still loading, if any."""
        return next((sub for sub in self._walk(roots) if sub.loading is not None), None)

    def _reachable(self, roots: Iterable[Subscription], only_sent: bool = False) -> set[str]:
        return {sub.rid for sub in self._walk(roots, only_sent)}

    def collect_garbage(self) -> None:
        """Dispose of what nothing holds (cycles included); forget "sent" where nothing sent holds it."""
        held = self._reachable(s for s in self.subs.values() if s.direct > 0)
        for rid in [rid for rid in self.subs if rid not in held]:
            self.subs.pop(rid).dispose()
        held_sent = self._reachable(
            (s for s in self.subs.values() if s.direct > 0 and s.sent), only_sent=True
        )
        for rid, sub in self.subs.items():
            if sub.sent and rid not in held_sent:
                sub.sent = False

    def resource_set(self, roots: Iterable[Subscription]) -> dict[str, Any]:
        """Everything reachable from ``roots`` that the client lacks; marks it sent."""
        models: dict[str, Any] = {}
        collections: dict[str, Any] = {}
        errs: dict[str, Any] = {}
        todo = list(roots)
        seen: set[str] = set()
        while todo:
            sub = todo.pop()
            if sub.sent or sub.rid in seen:
                continue
            seen.add(sub.rid)
            if sub.error is not None:
                errs[sub.rid] = sub.error.to_dict()
                continue
            if sub.kind == "model":
                models[sub.rid] = client_values(sub.value, self.modern)
            else:
                collections[sub.rid] = client_collection(sub.value, self.modern)
            sub.sent = True
            todo.extend(self.subs[r] for r in sub.refs if r in self.subs)
        result: dict[str, Any] = {}
        if models:
            result["models"] = models
        if collections:
            result["collections"] = collections
        if errs:
            result["errors"] = errs
        return result

    async def load(self, rid: str) -> ResourceTree:
        """``rid`` and everything it references, through the shared cache; raises the root's error."""
        sub = self.subscription(rid)
        self._add_direct(sub)
        try:
            await sub.loaded()
            if sub.error is not None:
                raise sub.error()
            await self.wait_loaded([sub])
            tree = ResourceTree(rid, {}, {})
            for key in self._reachable([sub]):
                s = self.subs[key]
                if s.error is not None:
                    tree.errors[key] = s.error
                elif s.is_loaded:
                    tree.resources[key] = Resource(s.kind, s.value)
            return tree
        finally:
            self._drop_direct(sub)
