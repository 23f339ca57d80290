"""Routes of the demo app: the page at ``/`` and the collected static files it loads."""

from django.conf import settings
from django.urls import path, re_path
from django.views.static import serve

from library import views

app_name = "library"

urlpatterns = [
    path("", views.index, name="index"),
    # Collected static files (`collectstatic`), served here so the page works under any ASGI server.
    re_path(
        rf"^{settings.STATIC_URL.strip('/')}/(?P<path>.*)$", serve, {"document_root": settings.STATIC_ROOT}
    ),
]
