"""An ASGI handler for the REST bridge without the site's middleware or thread hops.

Django's ASGI handler runs each request in its own thread-sensitive context and sends every middleware,
the request signals and the response close through ``sync_to_async``: a dozen thread hops per request.
The API needs none of it (no sessions, CSRF, users or database: services decide access), so requests
below the API path go to :class:`ApiHandler`, which resolves the URL and awaits the view on the event
loop; a read of a resource the cache holds is answered before that (:meth:`ResourceView.serve_cached`).
Every other request goes to the site's Django application unchanged.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.core.handlers.exception import convert_exception_to_response
from django.urls import set_script_prefix, set_urlconf

from res_gateway.conf import gateway_settings

from .views import ResourceView


class ApiHandler(ASGIHandler):
    """Django's ASGI handler reduced to URL resolution and the view, all on the event loop."""

    def load_middleware(self, is_async: bool = False) -> None:
        self._view_middleware: list[Callable[..., Any]] = []
        self._template_response_middleware: list[Callable[..., Any]] = []
        self._exception_middleware: list[Callable[..., Any]] = []
        # Django's own (private) request handling; django-stubs leave private methods out.
        get_response = self._get_response_async  # type: ignore[attr-defined]
        self._middleware_chain = convert_exception_to_response(get_response)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        try:
            body = await self.read_body(receive)
        except RequestAborted:
            return
        try:
            set_script_prefix(get_script_prefix(scope))
            request, response = self.create_request(scope, body)
            if request is not None:
                set_urlconf(settings.ROOT_URLCONF)
                result = self._middleware_chain(request)
                response = await result if inspect.isawaitable(result) else result
            assert response is not None  # create_request gives a request or the response to it
            await self.send_response(response, send)
        finally:
            body.close()


def with_rest_bridge(site: Any) -> Any:
    """An ASGI app sending HTTP requests below ``apiPath`` to :class:`ApiHandler` and the rest to ``site``."""
    api = ApiHandler()

    async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
        api_path = gateway_settings.api_path
        # An API at the site root shares its paths with the site's pages, which need the middleware.
        if scope["type"] == "http" and api_path != "/" and scope["path"].startswith(api_path):
            if not await ResourceView.serve_cached(scope, send):
                await api(scope, receive, send)
        else:
            await site(scope, receive, send)

    return application
