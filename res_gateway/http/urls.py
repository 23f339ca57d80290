"""URL routing of the REST bridge.

``urlpatterns`` is one catch-all route, to include under any prefix
(``path("rest/", include("res_gateway.http.urls"))``). :func:`api_urls` mounts it at the configured
``apiPath``, read on every match, since ``rungateway`` may set it after the URLconf was imported.
"""

from __future__ import annotations

import re
from functools import lru_cache

from django.urls import URLResolver, re_path
from django.urls.resolvers import RegexPattern

from res_gateway.conf import gateway_settings

from .views import ResourceView

urlpatterns = [
    re_path(r"^(?P<path>[\s\S]*)\Z", ResourceView.as_view(), name="res-resource"),
]


@lru_cache(maxsize=8)
def _prefix_regex(api_path: str) -> re.Pattern[str]:
    return re.compile("^" + re.escape(api_path.lstrip("/")))


class ApiPathPattern(RegexPattern):
    """Matches the current ``gateway_settings.api_path``."""

    def __init__(self) -> None:
        super().__init__("", is_endpoint=False)

    @property
    # Django's hints type regex as its descriptor's attribute; this property reads the same way.
    def regex(self) -> re.Pattern[str]:  # type: ignore[override]
        return _prefix_regex(gateway_settings.api_path)

    def __str__(self) -> str:
        return gateway_settings.api_path


def api_urls() -> URLResolver:
    """The REST bridge under the configured API path, for a project's ``urlpatterns``."""
    return URLResolver(ApiPathPattern(), "res_gateway.http.urls")
