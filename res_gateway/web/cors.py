"""CORS headers for API responses, and the preflight answer, as resgate writes them."""

from __future__ import annotations

from dataclasses import dataclass

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


@dataclass(frozen=True)
class Cors:
    """Headers every API response carries, and whether the request's origin is allowed."""

    headers: dict[str, str]
    allowed: bool


def cors(origin: str | None, allow_origin: list[str], *, credentials: bool) -> Cors:
    """CORS for a request with ``Origin: origin`` (``None`` when absent).

    ``allow_origin`` is ``["*"]`` or the sorted, lowercased allowed origins. Credentials are allowed
    only when header auth is configured. A request without an origin is always allowed; ``Origin: null``
    (sandboxed iframes, local files) only when every origin is.
    """
    headers = {"Access-Control-Allow-Credentials": "true"} if credentials else {}
    if allow_origin[0] == "*":
        headers["Access-Control-Allow-Origin"] = "*"
        return Cors(headers, True)
    if origin is None:
        return Cors(headers, True)
    allowed = origin.translate(_ASCII_LOWER) in allow_origin
    headers["Access-Control-Allow-Origin"] = origin if allowed else allow_origin[0]
    headers["Vary"] = "Origin"
    return Cors(headers, allowed)


def preflight_headers(allow_methods: str, request_headers: list[str]) -> dict[str, str]:
    """Headers an OPTIONS response adds: the allowed methods and the echoed request headers."""
    headers = {"Access-Control-Allow-Methods": allow_methods}
    if request_headers:
        headers["Access-Control-Allow-Headers"] = ", ".join(request_headers)
    return headers
