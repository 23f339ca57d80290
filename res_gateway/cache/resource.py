"""One cached resource (a model or a collection) and how events change it."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, Protocol

from res_protocol import DELETE_ACTION, InvalidValue, ResError, dumps_str, loads
from res_protocol.codec import (
    COLLECTION,
    MODEL,
    decode_add_event,
    decode_change_event,
    decode_remove_event,
)

from ..deprecation import warn_once
from .diff import diff_collection, diff_model, same
from .event import CacheEvent

if TYPE_CHECKING:
    from .event_subscription import EventSubscription

logger = logging.getLogger("res_gateway.cache")

_MISSING = object()


class Subscriber(Protocol):
    """Something holding a cached resource: it is told about every event applied to it."""

    def on_event(self, event: CacheEvent) -> None: ...

    def on_reaccess(self) -> None: ...


class ResourceSubscription:
    """A cached resource: the base resource of a name, or one normalized query of it."""

    __slots__ = (
        "es",
        "query",
        "is_query",
        "kind",
        "value",
        "version",
        "subscribers",
        "resetting",
        "dropped",
        "loaded",
    )

    def __init__(self, es: EventSubscription, query: str) -> None:
        self.es = es
        self.query = query  # the requested query while loading, the normalized one once loaded
        self.is_query = False
        self.kind = ""
        self.value: Any = None
        self.version = 0
        self.subscribers: set[Subscriber] = set()
        self.resetting = False
        self.dropped = False  # an event was dropped while resetting: the reply may predate it
        # Resolves to the loaded ResourceSubscription (this one or the one it links to) or a ResError.
        self.loaded: asyncio.Future[ResourceSubscription | ResError] = (
            asyncio.get_running_loop().create_future()
        )

    @property
    def rid(self) -> str:
        return f"{self.es.name}?{self.query}" if self.is_query else self.es.name

    @property
    def is_loaded(self) -> bool:
        return bool(self.kind)

    def set_value(self, kind: str, value: Any) -> None:
        self.kind = kind
        self.value = value

    # --- events -------------------------------------------------------------------------------------

    def handle_event(self, name: str, payload: bytes) -> None:
        """Apply a service event and hand the resulting event to every subscriber."""
        if name == "reaccess":
            for sub in list(self.subscribers):
                sub.on_reaccess()
            return
        if self.resetting and name in ("change", "add", "remove", "delete"):
            self.dropped = True
            return
        try:
            data = loads(payload) if payload else None
        except ValueError as e:
            logger.error("invalid event payload on event.%s.%s: %s", self.es.name, name, e)
            return
        if name == "delete":
            self.delete()
        elif name not in ("change", "add", "remove"):
            self.publish(CacheEvent(name, raw=dumps_str(data), value=self.value, version=self.version))
        else:
            try:
                self._apply(name, data)
            except InvalidValue as e:
                logger.error("invalid %s event on %s: %s", name, self.rid, e)

    def _apply(self, name: str, data: Any) -> None:
        """Apply a change, add or remove event's decoded payload."""
        if name == "change":
            change = decode_change_event(data)
            if change.legacy:
                warn_once(self.rid, "v1.0 change event format (values not wrapped)")
            self.change(change.values)
        elif name == "add":
            self.add(*decode_add_event(data))
        else:
            self.remove(decode_remove_event(data))

    def change(self, values: dict[str, Any]) -> None:
        """Apply changed values (normalized; ``DELETE_ACTION`` deletes) to a model."""
        if self.kind != MODEL:
            logger.error("change event on %s is not a valid model change", self.rid)
            return
        changed: dict[str, Any] = {}
        old: dict[str, Any] = {}
        for k, v in values.items():
            prev = self.value.get(k, _MISSING)
            if v is DELETE_ACTION:
                if prev is not _MISSING:
                    changed[k], old[k] = v, prev
            elif prev is _MISSING or not same(prev, v):
                changed[k], old[k] = v, None if prev is _MISSING else prev
        if not changed:
            return
        model = {**self.value, **changed}
        for k, v in changed.items():
            if v is DELETE_ACTION:
                del model[k]
        self._bump(model, CacheEvent("change", {"values": changed}, old=old))

    def add(self, idx: int, value: Any) -> None:
        """Insert a normalized value into a collection."""
        if self.kind != COLLECTION or not 0 <= idx <= len(self.value):
            logger.error("invalid add event on %s: index out of range", self.rid)
            return
        collection = [*self.value[:idx], value, *self.value[idx:]]
        self._bump(collection, CacheEvent("add", {"idx": idx, "value": value}))

    def remove(self, idx: int) -> None:
        """Remove a value from a collection."""
        if self.kind != COLLECTION or not 0 <= idx < len(self.value):
            logger.error("invalid remove event on %s: index out of range", self.rid)
            return
        old = self.value[idx]
        collection = [*self.value[:idx], *self.value[idx + 1 :]]
        self._bump(collection, CacheEvent("remove", {"idx": idx}, old=old))

    def delete(self) -> None:
        """The resource is gone: drop it from the cache and tell (then detach) every subscriber."""
        self.es.forget(self)
        event = CacheEvent("delete", value=self.value, version=self.version + 1)
        subscribers = list(self.subscribers)
        self.subscribers.clear()
        for sub in subscribers:
            sub.on_event(event)
            self.es.release()

    def replace(self, kind: str, value: Any) -> None:
        """Bring the cache to a state fetched anew, as ordinary events (after a reset or query event)."""
        if kind != self.kind:
            logger.error("%s changed type from %s to %s; keeping the cached value", self.rid, self.kind, kind)
            return
        if kind == MODEL:
            values = diff_model(self.value, value)
            if values:
                self.change(values)
            return
        for name, data in diff_collection(self.value, value):
            self.add(data["idx"], data["value"]) if name == "add" else self.remove(data["idx"])

    def _bump(self, value: Any, event: CacheEvent) -> None:
        self.value = value
        self.version += 1
        event.value = value
        event.version = self.version
        self.publish(event)

    def publish(self, event: CacheEvent) -> None:
        for sub in list(self.subscribers):
            sub.on_event(event)
