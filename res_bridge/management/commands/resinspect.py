"""``manage.py resinspect``: what every gateway holds right now: connections, subscriptions, cache."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from res_bridge.conf import bridge_settings, server_urls
from res_bridge.inspection import TIMEOUT, InspectionError, gather, totals
from res_protocol.inspection import GatewayReport

#: Resources listed per gateway in the text output (all of them with --json).
TOP = 10


class Command(BaseCommand):
    help = (
        "Ask every gateway on NATS for its connections, subscriptions, subscribers per resource, cache size "
        "and slow consumers."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--nats", help=f"NATS server URL (default: RES_BRIDGE NATS_URL, {bridge_settings.NATS_URL})"
        )
        parser.add_argument(
            "--timeout",
            type=float,
            default=TIMEOUT,
            help=f"seconds to collect answers for (default: {TIMEOUT})",
        )
        parser.add_argument("--json", action="store_true", help='print {"gateways": [...]}')

    def handle(self, *args: Any, nats: str | None, timeout: float, json: bool, **options: Any) -> None:
        if not 0 < timeout <= 60:
            raise CommandError("--timeout must be more than 0 and at most 60 seconds")
        servers = server_urls(nats) if nats else bridge_settings.nats_servers
        try:
            reports = asyncio.run(gather(servers, timeout))
        except InspectionError as e:
            raise CommandError(str(e))
        self.stdout.write(_json(reports) if json else self.text(reports, timeout))

    def text(self, reports: list[GatewayReport], timeout: float) -> str:
        if not reports:
            return self.style.WARNING(f"No gateway answered within {timeout:g} s.")
        all_ = totals(reports)
        lines = [
            f"{all_['gateways']} gateway(s): {all_['connections']} connections, "
            f"{all_['subscriptions']} subscriptions, {all_['slow_consumers']} slow consumers"
        ]
        for r in reports:
            nats = "connected" if r["nats_connected"] else "DISCONNECTED"
            lines += [
                "",
                self.style.MIGRATE_HEADING(r["id"]),
                f"  up {_duration(r['uptime'])}, NATS {nats}",
                f"  connections {r['connections']}, subscriptions {r['subscriptions']}, "
                f"cached resources {r['cache']['resources']}, slow consumers {r['slow_consumers']}, "
                f"queued messages {r['queued_messages']}",
            ]
            busiest = sorted(r["resources"].items(), key=lambda item: (-item[1], item[0]))
            lines += [f"    {count:>6}  {rid}" for rid, count in busiest[:TOP]]
            if len(busiest) > TOP:
                lines.append(f"    … and {len(busiest) - TOP} more resources (see --json)")
        return "\n".join(lines)


def _json(reports: list[GatewayReport]) -> str:
    return json.dumps({"gateways": reports}, indent=2, ensure_ascii=False)


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"
