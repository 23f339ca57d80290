"""Auth requests describe the client's request alike over HTTP and WebSocket, as resgate fills them:
``header`` without ``Host``, ``host`` as sent (with its port), ``remoteAddr`` with an IPv6 address in
brackets, ``uri`` the raw request target."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import websockets

from res_gateway.web.request import remote_address
from tests.harness import Client, GatewayProcess, Service, run_gateway

#: The client addresses: IPv4 loopback, and IPv6's as a URL writes it.
ADDRESSES = {"127.0.0.1": r"127\.0\.0\.1:\d+", "[::1]": r"\[::1\]:\d+"}
REFUSE = {"status": 401}  # answers the request at once: one auth request per transport, nothing after


@pytest.fixture(scope="module", params=["uvicorn", "daphne"])
def gateway(request: pytest.FixtureRequest, nats_url: str) -> Iterator[GatewayProcess]:
    """A gateway on every IPv4 and IPv6 interface, with header auth on both transports."""
    gw = run_gateway(
        nats_url,
        addr="",
        server=request.param,
        headerAuth="test.auth.header",
        wsHeaderAuth="test.auth.header",
        requestTimeout=1000,
    )
    yield gw
    gw.stop()


async def http_auth(service: Service, url: str) -> dict[str, Any]:
    async with httpx.AsyncClient() as http:
        sending = asyncio.ensure_future(http.get(url, headers={"X-Custom": "a"}))
        req = await service.get_request("auth.test.auth.header")
        await req.respond_result(None, meta=REFUSE)
        assert (await sending).status_code == 401
    data: dict[str, Any] = req.data
    return data


async def ws_auth(service: Service, url: str) -> dict[str, Any]:
    connecting = asyncio.ensure_future(Client.connect(url, additional_headers={"X-Custom": "a"}))
    req = await service.get_request("auth.test.auth.header")
    await req.respond_result(None, meta=REFUSE)
    with pytest.raises(websockets.InvalidStatus):
        await connecting
    data: dict[str, Any] = req.data
    return data


@pytest.mark.parametrize("address", ADDRESSES)
async def test_both_transports_describe_the_request_alike(
    gateway: GatewayProcess, service: Service, address: str
) -> None:
    host = f"{address}:{gateway.port}"
    over_http = await http_auth(service, f"http://{host}/api/test/model?q=1")
    over_ws = await ws_auth(service, f"ws://{host}/?q=1")
    for data in over_http, over_ws:
        assert data["host"] == host
        assert re.fullmatch(ADDRESSES[address], data["remoteAddr"]), data["remoteAddr"]
        assert "Host" not in data["header"]
        assert data["header"]["X-Custom"] == ["a"]
        assert data["isHttp"] is True
    assert over_http["uri"] == "/api/test/model?q=1"
    assert over_ws["uri"] == "/?q=1"
    assert (
        over_http.keys()
        == over_ws.keys()
        == {"cid", "token", "header", "host", "remoteAddr", "uri", "isHttp"}
    )


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("10.1.2.3", "10.1.2.3:80"),
        ("::ffff:10.1.2.3", "10.1.2.3:80"),
        ("::1", "[::1]:80"),
        ("2001:db8:0:0::1", "[2001:db8::1]:80"),
        ("fe80::1%eth0", "[fe80::1%eth0]:80"),
        ("proxy", "proxy:80"),
    ],
)
def test_a_remote_address_is_written_as_go_writes_it(host: str, expected: str) -> None:
    assert remote_address(host, 80) == expected
