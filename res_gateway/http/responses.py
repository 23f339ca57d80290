"""HTTP responses that can repeat a header line, as services' meta headers require.

Django keeps one value per header name; meta may give several (``Set-Cookie`` above all), and
resgate writes each as its own line. Extra values ride along in ``repeated`` and are emitted by
``items()``, which the ASGI handler reads to build the header list.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from rest_framework.response import Response

JSON_CONTENT_TYPE = "application/json; charset=utf-8"


class RepeatedHeadersMixin(HttpResponse):
    """Adds ``set_headers(header)``: one line per value of a ``{name: [values]}`` mapping."""

    repeated: list[tuple[str, str]]

    def set_headers(self, header: dict[str, list[str]]) -> None:
        self.repeated = []
        for key, values in header.items():
            if not values:
                continue
            self[key] = values[0]
            self.repeated.extend((key, value) for value in values[1:])

    def items(self) -> Any:
        return [*super().items(), *getattr(self, "repeated", ())]


class ApiResponse(RepeatedHeadersMixin, HttpResponse):
    """A resgate-style API response: JSON body, or no body and no content type."""

    def __init__(self, status: int, header: dict[str, list[str]], body: bytes | None = None) -> None:
        super().__init__(body or b"", status=status, content_type=JSON_CONTENT_TYPE)
        if body is None:
            del self["Content-Type"]
        if status != 204:
            self["Content-Length"] = str(len(body or b""))
        self.set_headers(header)


class BrowsableResponse(RepeatedHeadersMixin, Response):
    """A DRF response rendered as the browsable API for a person in a browser."""
