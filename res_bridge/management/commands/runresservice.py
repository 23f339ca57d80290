"""``manage.py runresservice``: serve the registered resources over NATS until interrupted."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from res_bridge.conf import bridge_settings
from res_bridge.service import Service, run


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
        run(Service(nats_url=nats, queue_group=queue_group, workers=workers, relay=not no_relay))
