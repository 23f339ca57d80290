"""The ASGI lifespan protocol, for servers that speak it (uvicorn does; daphne never sends it).

Startup completes at once: the gateway connects to NATS on first use (``rungateway`` starts it
early). Shutdown comes after the server stopped taking requests: the gateway closes its connections
and its NATS connection.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from .gateway import stop_gateway

Message = dict[str, Any]


async def lifespan(
    scope: Message, receive: Callable[[], Awaitable[Message]], send: Callable[[Message], Awaitable[None]]
) -> None:
    """An ASGI app for the ``lifespan`` scope."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await stop_gateway()
            await send({"type": "lifespan.shutdown.complete"})
            return
