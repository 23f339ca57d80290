import re

from django.contrib import admin
from django.urls import include, path, re_path

from res_gateway.conf import gateway_settings

urlpatterns = [
    path("admin/", admin.site.urls),
    re_path("^" + re.escape(gateway_settings.api_path.lstrip("/")), include("res_gateway.http.urls")),
    path("", include("library.urls")),
]
