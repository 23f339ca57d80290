"""The browsable API for resources: DRF's HTML page, without forms or format switches.

References in the rendered JSON are absolute URLs, so the page turns them into links a developer
can follow through the resource graph.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework.renderers import BrowsableAPIRenderer


def wants_html(accept: str) -> bool:
    """A browser asking for a page: ``Accept`` names ``text/html`` and not ``application/json``."""
    return "text/html" in accept and "application/json" not in accept


class ResourceBrowsableRenderer(BrowsableAPIRenderer):
    def show_form_for_method(self, view: Any, method: str, request: Any, obj: Any) -> bool:
        return False

    def get_breadcrumbs(self, request: Any) -> list[tuple[str, str]]:
        return [(request.path, request.get_full_path())]

    def get_context(
        self, data: Any, accepted_media_type: str | None, renderer_context: Mapping[str, Any]
    ) -> dict[str, Any]:
        context = super().get_context(data, accepted_media_type, renderer_context)
        context["available_formats"] = []  # a ?format= query would name another resource
        return context
