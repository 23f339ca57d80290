from django.apps import AppConfig


class StoreConfig(AppConfig):
    name = "tests.bridge.testapp"
    label = "store"
    default_auto_field = "django.db.models.BigAutoField"
