"""An event on a cached resource, serialised once per client rid and protocol variant."""

from __future__ import annotations

from typing import Any

from res_protocol import dumps_str, hard_ref


def client_value(value: Any, modern: bool) -> Any:
    """A normalized value as a client of that protocol variant expects it."""
    if modern or type(value) is not dict:
        return value
    if "soft" in value:
        return value["rid"]
    if "data" in value:
        return "[Data]"
    return value


def client_values(values: dict[str, Any], modern: bool) -> dict[str, Any]:
    return values if modern else {k: client_value(v, modern) for k, v in values.items()}


def client_collection(values: list[Any], modern: bool) -> list[Any]:
    return values if modern else [client_value(v, modern) for v in values]


def event_message(rid: str, name: str, data_json: str) -> str:
    """The text of an event message; ``data_json`` is already JSON."""
    return f'{{"event":{dumps_str(f"{rid}.{name}")},"data":{data_json}}}'


class CacheEvent:
    """One event applied to a cached resource.

    ``data`` is the event's normalized payload (``{"values": ...}``, ``{"idx", "value"}``, ``{"idx"}``);
    custom events keep their raw JSON text in ``raw``. ``old`` holds what the event replaced (the old
    values of changed properties, or the removed item), ``value`` the resource after it, ``version`` the
    resource version it produced.
    """

    __slots__ = ("name", "data", "raw", "old", "value", "version", "_texts", "_refs")

    def __init__(
        self,
        name: str,
        data: dict[str, Any] | None = None,
        *,
        raw: str = "null",
        old: Any = None,
        value: Any = None,
        version: int = 0,
    ) -> None:
        self.name = name
        self.data = data
        self.raw = raw
        self.old = old
        self.value = value
        self.version = version
        self._texts: dict[tuple[str, bool], str] = {}
        self._refs: tuple[list[str], list[str]] | None = None

    def refs(self) -> tuple[list[str], list[str]]:
        """The hard references a change, add or remove brings in and lets go of, found once per event."""
        if self._refs is None:
            data = self.data or {}  # only delete and custom events have none, and no references
            if self.name == "change":
                added = [r for r in map(hard_ref, data["values"].values()) if r is not None]
                removed = [r for r in map(hard_ref, self.old.values()) if r is not None]
            else:
                added = [r] if self.name == "add" and (r := hard_ref(data["value"])) else []
                removed = [r] if self.name == "remove" and (r := hard_ref(self.old)) else []
            self._refs = (added, removed)
        return self._refs

    def data_for(self, modern: bool) -> dict[str, Any] | None:
        """The payload for a client of that variant (without any resource set)."""
        if self.data is None or modern:
            return self.data
        if self.name == "change":
            return {"values": client_values(self.data["values"], modern)}
        if self.name == "add":
            return {"idx": self.data["idx"], "value": client_value(self.data["value"], modern)}
        return self.data

    def text(self, rid: str, modern: bool) -> str:
        """The message for clients knowing the resource as ``rid``, built once per (rid, variant)."""
        key = (rid, modern)
        text = self._texts.get(key)
        if text is None:
            data = self.data_for(modern)
            text = event_message(rid, self.name, self.raw if data is None else dumps_str(data))
            self._texts[key] = text
        return text
