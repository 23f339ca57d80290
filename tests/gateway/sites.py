"""ASGI applications and URLconfs of sites, as the gateway's system checks meet them."""

from __future__ import annotations

from channels.auth import AuthMiddlewareStack
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.routing import ProtocolTypeRouter, URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from django.core.handlers.asgi import ASGIHandler
from django.urls import include, path

from res_gateway.consumers import GatewayConsumer


async def http_app(scope, receive, send):  # pragma: no cover - only routed to, never called
    raise NotImplementedError


#: WebSockets to the gateway behind Channels' usual middleware.
wrapped = ProtocolTypeRouter(
    {
        "http": http_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter([path("", GatewayConsumer.as_asgi())]))
        ),
    }
)
no_websocket = ProtocolTypeRouter({"http": http_app})
other_consumer = ProtocolTypeRouter({"websocket": URLRouter([path("", AsyncWebsocketConsumer.as_asgi())])})
unknown_app = ProtocolTypeRouter({"websocket": http_app})
django_only = ASGIHandler()  # startproject's asgi.py: Django refuses every WebSocket
websocket_to_django = ProtocolTypeRouter({"websocket": ASGIHandler()})


class api_included:  # a URLconf, as a module would be
    urlpatterns = [path("api/", include("res_gateway.http.urls"))]


class api_elsewhere:
    urlpatterns = [path("rest/", include("res_gateway.http.urls"))]
