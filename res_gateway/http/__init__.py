"""The REST bridge: RES resources and methods over plain HTTP, as resgate serves them.

Mount it with ``res_gateway.http.urls.api_urls()`` in a project's ``urlpatterns`` (at the configured
``apiPath``), or ``include("res_gateway.http.urls")`` under any prefix; wrap the site's ASGI app in
``res_gateway.http.asgi.with_rest_bridge`` so API requests skip the site's middleware. ``GET``/``HEAD`` read a
resource, ``POST <rid path>/<method>`` calls a method, ``PUT``/``PATCH``/``DELETE`` call the methods
``putMethod``/``patchMethod``/``deleteMethod`` name. Settings read from ``RES_GATEWAY``: ``apiEncoding``,
``allowOrigin``, ``headerAuth``, the three verb methods, and two of ours: ``maxBodySize`` (larger
bodies get ``413`` with a ``system.badRequest`` error) and ``browsableApi`` (HTML pages for browsers).
"""

from .encoding import TreeEncoder

__all__ = ["TreeEncoder"]
