"""RES values: primitives, hard and soft references, data values and the delete action.

Values stay plain decoded JSON. :func:`normalize_value` checks one and returns its canonical
form (``{"data": 12}`` becomes ``12``, ``{"rid": "a", "soft": false}`` becomes ``{"rid": "a"}``),
so cached values compare with ``==`` and serialise without conversion.
"""

from __future__ import annotations

from typing import Any

from .rid import is_valid_rid

DELETE_ACTION: dict[str, str] = {"action": "delete"}


class InvalidValue(ValueError):
    """A value that is not a valid RES value."""


def normalize_value(value: Any, allow_delete: bool = False) -> Any:
    """Return the canonical form of a RES value, or raise :class:`InvalidValue`."""
    if not isinstance(value, dict):
        if isinstance(value, list):
            raise InvalidValue("arrays must be wrapped as data values")
        return value
    if "rid" in value:
        rid = value["rid"]
        if "action" in value or "data" in value:
            raise InvalidValue("ambiguous value")
        if not isinstance(rid, str) or not rid or not is_valid_rid(rid):
            raise InvalidValue(f"invalid reference rid: {rid!r}")
        soft = value.get("soft", False)
        if not isinstance(soft, bool):
            raise InvalidValue("soft must be a boolean")
        return {"rid": rid, "soft": True} if soft else {"rid": rid}
    if "action" in value:
        if "data" in value or value["action"] != "delete":
            raise InvalidValue("invalid action value")
        if not allow_delete:
            raise InvalidValue("delete action not allowed here")
        return DELETE_ACTION
    if "data" in value:
        data = value["data"]
        return data if not isinstance(data, (dict, list)) else {"data": data}
    raise InvalidValue("objects must be wrapped as data values")


def normalize_model(model: Any) -> dict[str, Any]:
    if not isinstance(model, dict):
        raise InvalidValue("model is not an object")
    return {k: normalize_value(v) for k, v in model.items()}


def normalize_collection(collection: Any) -> list[Any]:
    if not isinstance(collection, list):
        raise InvalidValue("collection is not an array")
    return [normalize_value(v) for v in collection]


def hard_ref(value: Any) -> str | None:
    """The RID of a (normalized) hard reference, else ``None``."""
    if type(value) is dict and "rid" in value and "soft" not in value:
        rid: str = value["rid"]  # normalized: a valid RID
        return rid
    return None


def is_soft_ref(value: Any) -> bool:
    return type(value) is dict and "soft" in value


def is_data(value: Any) -> bool:
    return type(value) is dict and "data" in value


def is_delete(value: Any) -> bool:
    return type(value) is dict and value.get("action") == "delete"


def ref(rid: str) -> dict[str, str]:
    return {"rid": rid}


def soft_ref(rid: str) -> dict[str, Any]:
    return {"rid": rid, "soft": True}


def data_value(data: Any) -> Any:
    return {"data": data}
