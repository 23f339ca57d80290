"""RES errors to HTTP statuses and back, as resgate maps them."""

from __future__ import annotations

from http import HTTPStatus

from res_protocol import errors
from res_protocol.errors import ResError

_ERROR_STATUS: dict[str, int] = {
    errors.CODE_NOT_FOUND: HTTPStatus.NOT_FOUND,
    errors.CODE_METHOD_NOT_FOUND: HTTPStatus.NOT_FOUND,
    errors.CODE_TIMEOUT: HTTPStatus.NOT_FOUND,
    errors.CODE_ACCESS_DENIED: HTTPStatus.UNAUTHORIZED,
    errors.CODE_METHOD_NOT_ALLOWED: HTTPStatus.METHOD_NOT_ALLOWED,
    errors.CODE_INTERNAL_ERROR: HTTPStatus.INTERNAL_SERVER_ERROR,
    errors.CODE_SERVICE_UNAVAILABLE: HTTPStatus.SERVICE_UNAVAILABLE,
    errors.CODE_FORBIDDEN: HTTPStatus.FORBIDDEN,
    errors.CODE_SUBJECT_TOO_LONG: HTTPStatus.REQUEST_URI_TOO_LONG,
}

_STATUS_ERROR: dict[int, ResError] = {
    401: errors.ACCESS_DENIED,
    402: errors.ACCESS_DENIED,
    407: errors.ACCESS_DENIED,
    403: errors.FORBIDDEN,
    451: errors.FORBIDDEN,
    404: errors.NOT_FOUND,
    410: errors.NOT_FOUND,
    405: errors.METHOD_NOT_ALLOWED,
    408: errors.TIMEOUT,
    501: errors.NOT_IMPLEMENTED,
    503: errors.SERVICE_UNAVAILABLE,
    504: errors.TIMEOUT,
}


def error_status(error: ResError) -> int:
    """The HTTP status for a RES error; any code not listed (custom ones too) is 400."""
    return int(_ERROR_STATUS.get(error.code, HTTPStatus.BAD_REQUEST))


def status_error(status: int) -> ResError:
    """The RES error a 4xx or 5xx status from a service's meta stands for."""
    if status in _STATUS_ERROR:
        return _STATUS_ERROR[status]
    return errors.BAD_REQUEST if 400 <= status < 500 else errors.INTERNAL_ERROR
