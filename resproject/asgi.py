"""ASGI entry point: Django's HTTP app first, then the protocol router."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "resproject.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

from res_gateway.conf import gateway_settings  # noqa: E402
from res_gateway.consumers import GatewayConsumer  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": URLRouter([path(gateway_settings.ws_path.lstrip("/"), GatewayConsumer.as_asgi())]),
    }
)
