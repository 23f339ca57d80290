"""ASGI entry point: Django's HTTP app first, then the protocol router."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "resproject.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter  # noqa: E402

from res_gateway.consumers import GatewayConsumer  # noqa: E402
from res_gateway.http.asgi import with_rest_bridge  # noqa: E402
from res_gateway.lifespan import lifespan  # noqa: E402

# The consumer serves the WebSocket at exactly gateway_settings.ws_path and refuses other paths.
application = ProtocolTypeRouter(
    {"http": with_rest_bridge(django_asgi_app), "websocket": GatewayConsumer.as_asgi(), "lifespan": lifespan}
)
