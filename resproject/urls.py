from django.contrib import admin
from django.urls import include, path

from res_gateway.http.urls import api_urls

urlpatterns = [
    path("admin/", admin.site.urls),
    api_urls(),
    path("", include("library.urls")),
]
