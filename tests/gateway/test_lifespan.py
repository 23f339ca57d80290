"""The ASGI lifespan protocol: startup completes at once, shutdown stops the gateway."""

from __future__ import annotations

import asyncio
from typing import Any

from res_gateway.gateway import Gateway
from resproject.asgi import application
from tests.harness import Client, GatewayProcess


async def run_lifespan(*events: str) -> list[dict[str, Any]]:
    """Send ``lifespan.<event>`` messages to the application; the messages it sends back."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for event in events:
        inbox.put_nowait({"type": f"lifespan.{event}"})
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await asyncio.wait_for(application({"type": "lifespan", "asgi": {"version": "3.0"}}, inbox.get, send), 10)
    return sent


async def test_startup_completes_and_shutdown_stops_the_gateway(process_gateway: Gateway) -> None:
    sent = await run_lifespan("startup", "shutdown")
    assert sent == [{"type": "lifespan.startup.complete"}, {"type": "lifespan.shutdown.complete"}]
    assert process_gateway.stopping
    assert not process_gateway.mq.connected


async def test_uvicorn_runs_the_lifespan_and_stops_cleanly(start_gateway: Any) -> None:
    gw: GatewayProcess = start_gateway(asgi_only=True)
    client = await Client.connect(gw.ws_url)
    assert (await client.request("version", {"protocol": "1.2.3"}))["result"] == {"protocol": "1.2.3"}
    gw.stop()  # uvicorn ends by raising the signal again, once its shutdown is done
    await client.wait_closed()
    output = gw.process.log_path.read_text()
    assert "Application startup complete" in output and "Application shutdown complete" in output
    assert "'lifespan' protocol appears unsupported" not in output
