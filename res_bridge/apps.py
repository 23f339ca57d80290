from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class BridgeConfig(AppConfig):
    name = "res_bridge"
    verbose_name = "RES bridge"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks, revocation  # noqa: F401 - checks registers the system checks
        from .events import connect_signals
        from .registry import registry

        autodiscover_modules("resources")
        connect_signals(registry)
        revocation.connect_signals()
