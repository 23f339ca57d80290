from django.apps import AppConfig
from django.core import checks


class GatewayConfig(AppConfig):
    verbose_name = "RES gateway"
    name = "res_gateway"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from .checks import ALL_CHECKS

        for check in ALL_CHECKS:
            checks.register(check, "res_gateway")
