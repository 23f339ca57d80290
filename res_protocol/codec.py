"""JSON codec, the RES service response envelope, and decoders of what services send the gateway.

The decoders turn a reply or event payload into checked, normalized values: a malformed get or query
reply raises ``system.internalError`` (the service's own error is raised as it is), a malformed event
raises :class:`InvalidValue`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from .errors import ResError, internal_error, invalid_params
from .rid import Pattern, compile_patterns, is_valid_rid
from .values import InvalidValue, normalize_collection, normalize_model, normalize_value

JSONDecodeError = orjson.JSONDecodeError

MODEL = "model"
COLLECTION = "collection"


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


# --- what services send the gateway ---------------------------------------------------------------


@dataclass(slots=True)
class GetResult:
    """A resource as a get (or query) reply gives it: its kind, its normalized value, its query."""

    kind: str  # MODEL or COLLECTION
    value: Any  # dict[str, Any] for a model, list[Any] for a collection
    query: str | None = None  # the normalized query, where the service gave one


@dataclass(slots=True)
class QueryResult:
    """A query request's reply: the resource fetched anew, or the events that bring it up to date."""

    resource: GetResult | None = None
    events: list[tuple[str, Any]] = field(default_factory=list)  # (event name, decoded data or None)


def decode_get_result(result: Any) -> GetResult:
    """A get result: exactly one of ``model`` or ``collection``, with valid values, and a string query."""
    if not isinstance(result, dict) or (MODEL in result) == (COLLECTION in result):
        raise internal_error("invalid get response")
    kind = MODEL if MODEL in result else COLLECTION
    try:
        value = normalize_model(result[kind]) if kind == MODEL else normalize_collection(result[kind])
    except InvalidValue as e:
        raise internal_error(f"invalid get response: {e}")
    query = result.get("query")
    if query is not None and not isinstance(query, str):
        raise internal_error("invalid query in get response")
    return GetResult(kind, value, query)


def decode_get_response(payload: bytes) -> GetResult:
    """A get reply's resource; raises the service's error, or internalError for a malformed reply."""
    response = decode_response(payload)
    if response.error is not None:
        raise response.error()
    return decode_get_result(response.result)


def decode_query_event(payload: bytes) -> str:
    """The subject a query event asks the gateway to send its query requests to."""
    try:
        subject = orjson.loads(payload)["subject"]
    except (orjson.JSONDecodeError, TypeError, KeyError) as e:
        raise internal_error(f"invalid query event: {e!r}")
    if not isinstance(subject, str) or not subject:
        raise internal_error("invalid query event: missing subject")
    return subject


def decode_query_response(payload: bytes) -> QueryResult:
    """A query reply: a resource, or a list of events; raises as :func:`decode_get_response` does."""
    response = decode_response(payload)
    if response.error is not None:
        raise response.error()
    result = response.result
    if not isinstance(result, dict):
        raise internal_error("invalid query response")
    if MODEL in result or COLLECTION in result:
        if "events" in result:
            raise internal_error("query response has both events and a resource")
        return QueryResult(resource=decode_get_result(result))
    events = result.get("events") or []
    if not isinstance(events, list):
        raise internal_error("invalid query events")
    decoded = []
    for event in events:
        if not isinstance(event, dict) or not isinstance(event.get("event"), str):
            raise internal_error(f"invalid query event: {event!r}")
        decoded.append((event["event"], event.get("data")))
    return QueryResult(events=decoded)


@dataclass(slots=True)
class ChangeEvent:
    """A model change: the changed values, normalized (``DELETE_ACTION`` for a deleted property)."""

    values: dict[str, Any]
    legacy: bool = False  # sent in the v1.0 form, the values not wrapped in ``{"values": ...}``


def decode_change_event(data: Any) -> ChangeEvent:
    """A change event's decoded payload, in the current form or the v1.0 one."""
    legacy = not (isinstance(data, dict) and len(data) == 1 and isinstance(data.get("values"), dict))
    values = data if legacy else data["values"]
    if not isinstance(values, dict):
        raise InvalidValue("not a model change")
    return ChangeEvent({k: normalize_value(v, allow_delete=True) for k, v in values.items()}, legacy)


def decode_add_event(data: Any) -> tuple[int, Any]:
    """An add event's index and normalized value."""
    if not isinstance(data, dict) or type(data.get("idx")) is not int or "value" not in data:
        raise InvalidValue("an add event needs an integer idx and a value")
    return data["idx"], normalize_value(data["value"])


def decode_remove_event(data: Any) -> int:
    """A remove event's index."""
    if not isinstance(data, dict) or type(data.get("idx")) is not int:
        raise InvalidValue("a remove event needs an integer idx")
    idx: int = data["idx"]
    return idx


def decode_token_event(payload: bytes) -> tuple[Any, str | None]:
    """A connection token event's token and token id (None unless a string)."""
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError as e:
        raise InvalidValue(f"invalid token event: {e}")
    if not isinstance(data, dict):
        raise InvalidValue("a token event must be an object")
    tid = data.get("tid")
    return data.get("token"), tid if isinstance(tid, str) else None


def _system_event(payload: bytes) -> dict[str, Any]:
    try:
        data = orjson.loads(payload) if payload else {}
    except orjson.JSONDecodeError as e:
        raise InvalidValue(str(e))
    if not isinstance(data, dict):
        raise InvalidValue("not an object")
    return data


@dataclass(slots=True)
class SystemReset:
    """A ``system.reset`` event: the resources to fetch anew and those whose access to check again."""

    resources: list[Pattern]
    access: list[Pattern]


def decode_system_reset(payload: bytes) -> SystemReset:
    """A ``system.reset`` event; invalid patterns are skipped (as gateways do)."""
    data = _system_event(payload)
    return SystemReset(compile_patterns(data.get("resources")), compile_patterns(data.get("access")))


@dataclass(slots=True)
class TokenReset:
    """A ``system.tokenReset`` event: the subject to ask for new tokens, for the connections of ``tids``."""

    subject: str
    tids: set[str]


def decode_token_reset(payload: bytes) -> TokenReset:
    """A ``system.tokenReset`` event; one without a subject is invalid, tids not strings are skipped."""
    data = _system_event(payload)
    subject, tids = data.get("subject"), data.get("tids")
    if not isinstance(subject, str) or not subject:
        raise InvalidValue("no subject")
    return TokenReset(subject, {t for t in tids if isinstance(t, str)} if isinstance(tids, list) else set())
