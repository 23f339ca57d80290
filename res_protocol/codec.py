"""JSON codec and the RES service response envelope."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from .errors import ResError, internal_error, invalid_params
from .rid import is_valid_rid

JSONDecodeError = orjson.JSONDecodeError


def dumps(value: Any) -> bytes:
    return orjson.dumps(value)


def dumps_str(value: Any) -> str:
    return orjson.dumps(value).decode()


def loads(data: bytes | str) -> Any:
    return orjson.loads(data)


#: Nesting levels of arrays and objects accepted in request params (orjson encodes at most 255).
MAX_DEPTH = 64


def check_depth(value: Any, limit: int = MAX_DEPTH) -> None:
    """Refuse a decoded value nested deeper than ``limit`` levels with ``system.invalidParams``."""
    level = [value]
    for _ in range(limit + 1):
        level = [
            child
            for item in level
            if isinstance(item, (dict, list))
            for child in (item.values() if isinstance(item, dict) else item)
        ]
        if not level:
            return
    raise invalid_params(f"Invalid params: nested deeper than {limit} levels")


@dataclass(slots=True)
class Response:
    """A decoded service response: a result, a resource reference or an error, plus meta."""

    result: Any = None
    resource: str | None = None
    error: ResError | None = None
    meta: dict[str, Any] | None = None


def decode_response(payload: bytes, allow_resource: bool = False) -> Response:
    """Decode a service reply, turning any malformed reply into ``system.internalError``."""
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError as e:
        return Response(error=internal_error(f"invalid service response: {e}"))
    if not isinstance(data, dict):
        return Response(error=internal_error("invalid service response"))
    meta = data.get("meta")
    if meta is not None and not isinstance(meta, dict):
        meta = None
    if "error" in data:
        try:
            return Response(error=ResError.from_dict(data["error"]), meta=meta)
        except ValueError as e:
            return Response(error=internal_error(f"invalid service response: {e}"), meta=meta)
    if allow_resource and "resource" in data:
        res = data["resource"]
        rid = res.get("rid") if isinstance(res, dict) else None
        if not isinstance(rid, str) or not is_valid_rid(rid):
            return Response(error=internal_error("invalid service response"), meta=meta)
        return Response(resource=rid, meta=meta)
    if "result" not in data:
        return Response(error=internal_error("response missing result"), meta=meta)
    return Response(result=data["result"], meta=meta)


def result_payload(result: Any, meta: dict[str, Any] | None = None) -> bytes:
    return _with_meta({"result": result}, meta)


def resource_payload(rid: str, meta: dict[str, Any] | None = None) -> bytes:
    return _with_meta({"resource": {"rid": rid}}, meta)


def error_payload(error: ResError, meta: dict[str, Any] | None = None) -> bytes:
    return _with_meta({"error": error.to_dict()}, meta)


def _with_meta(body: dict[str, Any], meta: dict[str, Any] | None) -> bytes:
    if meta:
        body["meta"] = meta
    return orjson.dumps(body)
