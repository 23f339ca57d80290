"""Every RES error code, defined once, and the error type that carries them."""

from __future__ import annotations

from typing import Any

_MISSING: Any = object()


class ResError(Exception):
    """A RES error object (``code``, ``message``, optional ``data``), raisable and comparable by code.

    The constants below are shared: raise a fresh copy of one, ``raise errors.NOT_FOUND()``. Raising the
    same instance again would chain each raise's traceback onto it, keeping every request's frames alive.
    """

    def __init__(self, code: str, message: str = "", data: Any = _MISSING) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message
        self.data = data

    @property
    def has_data(self) -> bool:
        return self.data is not _MISSING

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not _MISSING:
            d["data"] = self.data
        return d

    def __call__(self, message: str | None = None) -> ResError:
        """A fresh copy to raise (same type, code and data), with ``message`` instead if given."""
        return type(self)(self.code, self.message if message is None else message, self.data)

    def with_message(self, message: str) -> ResError:
        return self(message)

    @classmethod
    def from_dict(cls, d: Any) -> ResError:
        """Build from a decoded error object; raises ``ValueError`` when it is not one."""
        if not isinstance(d, dict):
            raise ValueError("error is not an object")
        code = d.get("code", "")
        message = d.get("message", "")
        if not isinstance(code, str) or not isinstance(message, str):
            raise ValueError("error code and message must be strings")
        return cls(code, message, d.get("data", _MISSING))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ResError) and other.code == self.code

    def __hash__(self) -> int:
        return hash(self.code)

    def __repr__(self) -> str:
        return f"ResError({self.code!r}, {self.message!r})"

    def __str__(self) -> str:
        return self.message or self.code


CODE_ACCESS_DENIED = "system.accessDenied"
CODE_BAD_REQUEST = "system.badRequest"
CODE_DELETED = "system.deleted"
CODE_DISPOSED_SUBSCRIPTION = "system.disposedSubscription"
CODE_FORBIDDEN = "system.forbidden"
CODE_INTERNAL_ERROR = "system.internalError"
CODE_INVALID_PARAMS = "system.invalidParams"
CODE_INVALID_QUERY = "system.invalidQuery"
CODE_INVALID_REQUEST = "system.invalidRequest"
CODE_METHOD_NOT_ALLOWED = "system.methodNotAllowed"
CODE_METHOD_NOT_FOUND = "system.methodNotFound"
CODE_NO_SUBSCRIPTION = "system.noSubscription"
CODE_NOT_FOUND = "system.notFound"
CODE_NOT_IMPLEMENTED = "system.notImplemented"
CODE_REQUEST_LIMIT_EXCEEDED = "system.requestLimitExceeded"  # ours: too many requests in flight
CODE_SERVICE_UNAVAILABLE = "system.serviceUnavailable"
CODE_SUBJECT_TOO_LONG = "system.subjectTooLong"
CODE_SUBSCRIPTION_LIMIT_EXCEEDED = "system.subscriptionLimitExceeded"
CODE_TIMEOUT = "system.timeout"
CODE_UNSUPPORTED_PROTOCOL = "system.unsupportedProtocol"

ACCESS_DENIED = ResError(CODE_ACCESS_DENIED, "Access denied")
BAD_REQUEST = ResError(CODE_BAD_REQUEST, "Bad request")
DELETED = ResError(CODE_DELETED, "Deleted")
DISPOSED_SUBSCRIPTION = ResError(CODE_DISPOSED_SUBSCRIPTION, "Resource subscription is disposed")
FORBIDDEN = ResError(CODE_FORBIDDEN, "Forbidden")
INTERNAL_ERROR = ResError(CODE_INTERNAL_ERROR, "Internal error")
INVALID_PARAMS = ResError(CODE_INVALID_PARAMS, "Invalid parameters")
INVALID_QUERY = ResError(CODE_INVALID_QUERY, "Invalid query")
INVALID_REQUEST = ResError(CODE_INVALID_REQUEST, "Invalid request")
METHOD_NOT_ALLOWED = ResError(CODE_METHOD_NOT_ALLOWED, "Method not allowed")
METHOD_NOT_FOUND = ResError(CODE_METHOD_NOT_FOUND, "Method not found")
NO_SUBSCRIPTION = ResError(CODE_NO_SUBSCRIPTION, "No subscription")
NOT_FOUND = ResError(CODE_NOT_FOUND, "Not found")
NOT_IMPLEMENTED = ResError(CODE_NOT_IMPLEMENTED, "Not implemented")
REQUEST_LIMIT_EXCEEDED = ResError(CODE_REQUEST_LIMIT_EXCEEDED, "Request limit exceeded")
SERVICE_UNAVAILABLE = ResError(CODE_SERVICE_UNAVAILABLE, "Service unavailable")
SUBJECT_TOO_LONG = ResError(CODE_SUBJECT_TOO_LONG, "Subject too long")
SUBSCRIPTION_LIMIT_EXCEEDED = ResError(CODE_SUBSCRIPTION_LIMIT_EXCEEDED, "Subscription limit exceeded")
TIMEOUT = ResError(CODE_TIMEOUT, "Request timeout")
UNSUPPORTED_PROTOCOL = ResError(CODE_UNSUPPORTED_PROTOCOL, "Unsupported protocol")


def internal_error(detail: str) -> ResError:
    """``system.internalError`` with ``Internal error: <detail>`` as message."""
    return ResError(CODE_INTERNAL_ERROR, f"Internal error: {detail}")


def invalid_params(message: str = "Invalid parameters", data: Any = _MISSING) -> ResError:
    return ResError(CODE_INVALID_PARAMS, message, data)


def invalid_query(message: str = "Invalid query") -> ResError:
    return ResError(CODE_INVALID_QUERY, message)
