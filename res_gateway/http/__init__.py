"""The REST bridge: RES resources and methods over plain HTTP, as resgate serves them.

Mount it with ``res_gateway.http.urls.api_urls()`` in a project's ``urlpatterns`` (at the configured
``apiPath``), or ``include("res_gateway.http.urls")`` under any prefix; wrap the site's ASGI app in
``res_gateway.http.asgi.with_rest_bridge`` so API requests skip the site's middleware. ``GET``/``HEAD`` read a
resource, ``POST <rid path>/<method>`` calls a method, ``PUT``/``PATCH``/``DELETE`` call the methods
``putMethod``/``patchMethod``/``deleteMethod`` name. Settings read from ``RES_GATEWAY``: ``apiEncoding``,
``allowOrigin``, ``headerAuth``, the three verb methods, and two of ours: ``maxBodySize`` (larger
bodies get ``413`` with a ``system.badRequest`` error) and ``browsableApi`` (HTML pages for browsers).
"""

from .cors import Cors, cors, preflight_headers
from .encoding import TreeEncoder
from .meta import PROTECTED_HEADERS, Meta, canonical_key, merge_header
from .paths import path_to_rid, path_to_rid_method, request_path, rid_to_path
from .status import error_status, status_error

__all__ = [
    "PROTECTED_HEADERS",
    "Cors",
    "Meta",
    "TreeEncoder",
    "canonical_key",
    "cors",
    "error_status",
    "merge_header",
    "path_to_rid",
    "path_to_rid_method",
    "preflight_headers",
    "request_path",
    "rid_to_path",
    "status_error",
]
