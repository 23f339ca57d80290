"""WebSocket options of rungateway on both servers: permessage-deflate, allowed origins, WebSocket path."""

from __future__ import annotations

import pytest
import websockets

from tests.gateway.running import StartGateway
from tests.harness import Client, Service

MODEL = {"string": "foo", "int": 42}


@pytest.mark.parametrize("server", ["uvicorn", "daphne"])
@pytest.mark.parametrize("compression", [True, False])
async def test_compression_negotiated_only_when_enabled(
    rungateway: StartGateway, service: Service, server: str, compression: bool
) -> None:
    gateway = rungateway("--server", server, *(["--wscompression"] if compression else []))
    client = await Client.connect(gateway.ws_url, compression="deflate")  # the client always offers it
    try:
        extensions = client.ws.response.headers.get("Sec-WebSocket-Extensions") or ""
        assert ("permessage-deflate" in extensions) is compression
        await client.request("version", {"protocol": "1.2.3"})
        pending = client.send("subscribe.test.model")
        requests = await service.get_requests(2)
        await requests.get("access.test.model").respond_access(get=True)
        await requests.get("get.test.model").respond_model(MODEL)
        assert await pending.result() == {"models": {"test.model": MODEL}}
    finally:
        await client.close()


# (Origin header sent, whether the upgrade is accepted) with --alloworigin http://allowed.io;https://b.io:8443
ORIGINS = [
    (None, True),
    ("null", False),  # refused with an origin list
    ("http://allowed.io", True),
    ("HTTP://Allowed.IO", True),
    ("https://b.io:8443", True),
    ("https://allowed.io", False),
    ("http://allowed.io:8080", False),
    ("https://b.io", False),
    ("http://evil.io", False),
]


async def test_allowed_origins_and_websocket_path(rungateway: StartGateway) -> None:
    gateway = rungateway(
        "-w", "/ws", "--alloworigin", "http://allowed.io", "--alloworigin", "https://b.io:8443"
    )
    url = f"ws://127.0.0.1:{gateway.port}/ws"
    for origin, accepted in ORIGINS:
        headers = {"Origin": origin} if origin is not None else {}
        try:
            ws = await websockets.connect(url, additional_headers=headers)
        except websockets.InvalidStatus as e:
            assert not accepted, f"{origin} refused"
            assert e.response.status_code == 403
        else:
            await ws.close()
            assert accepted, f"{origin} accepted"
    with pytest.raises(websockets.InvalidStatus):
        await websockets.connect(gateway.ws_url)  # "/" is no longer the WebSocket path
