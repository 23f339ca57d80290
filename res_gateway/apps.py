from django.apps import AppConfig


class GatewayConfig(AppConfig):
    verbose_name = "RES gateway"
    name = "res_gateway"
    default_auto_field = "django.db.models.BigAutoField"
