"""One catch-all route: include it under the API path (``path("api/", include("res_gateway.http.urls"))``)."""

from django.urls import re_path

from .views import ResourceView

urlpatterns = [
    re_path(r"^(?P<path>[\s\S]*)\Z", ResourceView.as_view(), name="res-resource"),
]
