"""``manage.py resoutbox``: the change capture triggers and the outbox relay.

- ``status``: missing and stale triggers, and rows waiting in the outbox (exit status 1 if a trigger is
  missing or stale);
- ``sync``: create missing triggers and replace stale ones (``migrate`` does this too);
- ``drop``: remove every trigger (writes are no longer captured);
- ``relay``: run an outbox relay alone until interrupted (``runresservice`` runs one too).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections

from res_bridge import triggers
from res_bridge.conf import bridge_settings
from res_bridge.models import OutboxEntry


class Command(BaseCommand):
    help = "Change capture triggers (status, sync, drop) and the outbox relay (relay)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("action", choices=["status", "sync", "drop", "relay"])
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="database alias (default: default)")
        parser.add_argument(
            "--nats",
            help=f"relay: NATS server URL (default: RES_BRIDGE NATS_URL, {bridge_settings.NATS_URL})",
        )

    def handle(self, *args: Any, action: str, database: str, nats: str | None, **options: Any) -> None:
        connection = connections[database]
        if action != "drop" and triggers.OUTBOX not in connection.introspection.table_names():
            raise CommandError(f"the outbox table {triggers.OUTBOX} does not exist: run manage.py migrate")
        if action == "relay":
            from res_bridge.relay import run

            run(nats, database)
        elif action == "drop":
            self.stdout.write(f"{triggers.drop(connection)} triggers dropped")
        elif action == "sync":
            done = triggers.sync(connection)
            self.stdout.write(
                f"{len(done.missing)} triggers created, {len(done.stale)} stale triggers dropped"
            )
        else:
            self._status(connection, database)

    def _status(self, connection: Any, database: str) -> None:
        found = triggers.status(connection)
        for trigger in found.missing:
            self.stdout.write(f"missing: {trigger.name} on {trigger.table}")
        for name, table in found.stale.items():
            self.stdout.write(f"stale: {name} on {table}")
        waiting = OutboxEntry.objects.using(database).count()
        self.stdout.write(
            f"{len(triggers.expected(connection)) - len(found.missing)} triggers current; "
            f"{waiting} outbox rows waiting"
        )
        if not found.current:
            raise CommandError("triggers are missing or stale: run manage.py resoutbox sync (or migrate)")
