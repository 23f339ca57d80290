"""RES error codes to HTTP statuses and meta statuses to RES errors."""

import pytest

from res_gateway.web.status import error_status, status_error
from res_protocol import errors
from res_protocol.errors import ResError


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (errors.CODE_NOT_FOUND, 404),
        (errors.CODE_METHOD_NOT_FOUND, 404),
        (errors.CODE_TIMEOUT, 404),
        (errors.CODE_ACCESS_DENIED, 401),
        (errors.CODE_METHOD_NOT_ALLOWED, 405),
        (errors.CODE_INTERNAL_ERROR, 500),
        (errors.CODE_SERVICE_UNAVAILABLE, 503),
        (errors.CODE_FORBIDDEN, 403),
        (errors.CODE_SUBJECT_TOO_LONG, 414),
        (errors.CODE_INVALID_PARAMS, 400),
        (errors.CODE_INVALID_QUERY, 400),
        (errors.CODE_BAD_REQUEST, 400),
        (errors.CODE_NO_SUBSCRIPTION, 400),
        ("system.custom", 400),
        ("myservice.outOfStock", 400),
    ],
)
def test_error_status(code, status):
    assert error_status(ResError(code, "x")) == status


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, errors.ACCESS_DENIED),
        (402, errors.ACCESS_DENIED),
        (407, errors.ACCESS_DENIED),
        (403, errors.FORBIDDEN),
        (451, errors.FORBIDDEN),
        (404, errors.NOT_FOUND),
        (410, errors.NOT_FOUND),
        (405, errors.METHOD_NOT_ALLOWED),
        (408, errors.TIMEOUT),
        (400, errors.BAD_REQUEST),
        (418, errors.BAD_REQUEST),
        (501, errors.NOT_IMPLEMENTED),
        (503, errors.SERVICE_UNAVAILABLE),
        (504, errors.TIMEOUT),
        (500, errors.INTERNAL_ERROR),
        (507, errors.INTERNAL_ERROR),
    ],
)
def test_status_error(status, error):
    result = status_error(status)
    assert (result.code, result.message) == (error.code, error.message)
