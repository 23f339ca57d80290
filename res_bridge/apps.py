from typing import Any

from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import post_migrate
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
        post_migrate.connect(sync_triggers, sender=self, dispatch_uid="res_bridge.triggers")


def sync_triggers(using: str = "default", plan: Any = None, **kwargs: Any) -> None:
    """After ``migrate``: change capture triggers for every registered table, current with the schema.
    After ``flush`` (no plan), which emptied every table: an empty outbox too."""
    from . import outbox, triggers

    triggers.sync(connections[using])
    if plan is None and triggers.OUTBOX in connections[using].introspection.table_names():
        outbox.clear(using)
