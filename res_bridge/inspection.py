"""Asks every gateway on NATS what it holds right now (``res_protocol.inspection``), for people.

One request with a reply inbox; every gateway process answers once; answers are collected until
``wait`` seconds have passed, so no gateway answering gives an empty list, never a hang.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import urlsplit

import nats
from nats.errors import Error as NatsError

from res_protocol import loads
from res_protocol.inspection import SUBJECT, GatewayReport, is_report

from .conf import bridge_settings

logger = logging.getLogger("res_bridge")

#: Seconds to collect answers for, by default.
TIMEOUT = 1.0
#: The URL schemes NATS clients connect with.
NATS_SCHEMES = ("nats", "tls", "ws", "wss")


class InspectionError(Exception):
    """NATS could not be reached, or refused the request."""


async def gather(servers: list[str] | None = None, wait: float = TIMEOUT) -> list[GatewayReport]:
    """Every gateway's report, sorted by gateway ID; :class:`InspectionError` when NATS says no."""
    servers = servers or bridge_settings.nats_servers
    for url in servers:
        if "://" in url and urlsplit(url).scheme not in NATS_SCHEMES:
            raise InspectionError(f"{_without_credentials(url)} is not a NATS URL (nats://host:port)")
    where = ", ".join(_without_credentials(url) for url in servers)
    refusals: list[Exception] = []

    async def on_error(e: Exception) -> None:  # nats-py would log it with a traceback
        refusals.append(e)

    try:
        nc = await asyncio.wait_for(
            nats.connect(
                servers=servers,
                allow_reconnect=False,
                max_reconnect_attempts=1,  # each server tried once
                reconnect_time_wait=0.1,
                connect_timeout=wait,
                error_cb=on_error,
                name="res inspector",
            ),
            wait + 1,
        )
    except (OSError, TimeoutError, NatsError) as e:
        raise InspectionError(f"cannot reach NATS at {where}: {_said(refusals[-1:] or [e])}") from None
    reports: list[GatewayReport] = []

    async def received(msg: Any) -> None:
        if msg.headers and msg.headers.get("Status") == "503":
            return  # no gateway listens: NATS says so at once
        try:
            report = loads(msg.data)
        except ValueError:
            report = None
        if is_report(report):
            reports.append(report)
        else:
            logger.warning("ignoring a malformed inspection answer: %.200r", msg.data)

    try:
        inbox = nc.new_inbox()
        await nc.subscribe(inbox, cb=received)
        await nc.publish(SUBJECT, b"{}", reply=inbox)
        await nc.flush(wait)  # type: ignore[arg-type]  # nats-py annotates int; it takes float seconds
        await asyncio.sleep(wait)
    except (OSError, TimeoutError, NatsError) as e:
        refusals.append(e)
    finally:
        await nc.close()
    if refusals and not reports:
        raise InspectionError(f"NATS at {where} refused the inspection request: {_said(refusals)}")
    return sorted(reports, key=lambda r: r["id"])


def _said(errors: list[Exception]) -> str:
    e = errors[-1]
    return str(e) or type(e).__name__


def _without_credentials(url: str) -> str:
    """``url`` as it may be shown: without a user, password or token."""
    parts = urlsplit(url)
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl() if "@" in parts.netloc else url


def totals(reports: list[GatewayReport]) -> dict[str, Any]:
    """Figures over every gateway: connections, subscriptions, and subscribers per resource."""
    resources: dict[str, int] = {}
    for report in reports:
        for rid, count in report["resources"].items():
            resources[rid] = resources.get(rid, 0) + count
    return {
        "gateways": len(reports),
        "connections": sum(r["connections"] for r in reports),
        "subscriptions": sum(r["subscriptions"] for r in reports),
        "slow_consumers": sum(r["slow_consumers"] for r in reports),
        "resources": dict(sorted(resources.items(), key=lambda item: (-item[1], item[0]))),
    }
