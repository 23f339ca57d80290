"""The demo page: a live library on ResClient, talking to the gateway over WebSocket."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from res_gateway.conf import gateway_settings


def index(request: HttpRequest) -> HttpResponse:
    """Render the page; the browser connects to the gateway's WebSocket path on this same host."""
    user = request.user
    context = {
        "ws_path": gateway_settings.ws_path,
        "session_user": user.get_username() if user.is_authenticated else "",
    }
    return render(request, "library/index.html", context)
