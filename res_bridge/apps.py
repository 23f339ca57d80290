from django.apps import AppConfig


class BridgeConfig(AppConfig):
    name = "res_bridge"
    default_auto_field = "django.db.models.BigAutoField"
