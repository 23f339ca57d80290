"""``manage.py runresservice``: serve the registered resources over NATS until interrupted."""

from __future__ import annotations

import logging
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection

from res_bridge.conf import bridge_settings
from res_bridge.service import Service, run
from res_protocol import __version__
from res_protocol.console import log_to_console, verbosity_level

logger = logging.getLogger("res_bridge")


class Command(BaseCommand):
    help = "Serve the registered Django models as RES resources over NATS."
    requires_system_checks = "__all__"

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--nats", help=f"NATS server URL (default: RES_BRIDGE NATS_URL, {bridge_settings.NATS_URL})"
        )
        parser.add_argument(
            "--queue-group", help=f"NATS queue group (default: {bridge_settings.QUEUE_GROUP})"
        )
        parser.add_argument(
            "--workers", type=int, help=f"threads for ORM work (default: {bridge_settings.WORKERS})"
        )
        parser.add_argument(
            "--no-relay", action="store_true", help="do not send the outbox (a resoutbox relay does it)"
        )

    def handle(
        self,
        *args: Any,
        nats: str | None,
        queue_group: str | None,
        workers: int | None,
        no_relay: bool,
        **options: Any,
    ) -> None:
        log_to_console({"res_bridge": verbosity_level(options["verbosity"])}, self.stderr)
        try:
            connection.ensure_connection()
        except DatabaseError as e:
            database = f"{connection.vendor} database {connection.settings_dict['NAME']}"
            raise CommandError(f"cannot reach the {database}: {' '.join(str(e).split())}") from None
        finally:
            connection.close()  # the service's threads open their own
        service = Service(nats_url=nats, queue_group=queue_group, workers=workers, relay=not no_relay)
        logger.info(
            "Starting RES service (django-res %s) for %s, NATS %s; quit with CONTROL-C",
            __version__, ", ".join(service.patterns) or "no resources", ", ".join(service.servers),
        )  # fmt: skip
        run(service)
