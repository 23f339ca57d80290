"""HTTP responses under the gateway's uvicorn protocol: the head goes out with the body, in one write.

A real uvicorn server on a loopback socket, with an application that waits between the head and the body:
the client sees nothing of the response before the body is sent, then all of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn

from res_gateway.transport import OneWriteHttpProtocol

#: How long the application waits between the head and the body.
PAUSE = 0.5


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = b"" if scope["method"] == "HEAD" else b"hello"
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"5")]})
    await asyncio.sleep(PAUSE)
    await send({"type": "http.response.body", "body": body})


@pytest.fixture
async def port() -> AsyncIterator[int]:
    sock = socket.create_server(("127.0.0.1", 0))
    config = uvicorn.Config(app, http=OneWriteHttpProtocol, lifespan="off", log_config=None)
    server = uvicorn.Server(config)
    serving = asyncio.ensure_future(server.serve(sockets=[sock]))  # the socket listens already
    yield sock.getsockname()[1]
    server.should_exit = True
    with contextlib.suppress(asyncio.CancelledError):
        await serving


async def test_head_waits_for_the_body(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(reader.read(1000), PAUSE / 2)
    data = await asyncio.wait_for(reader.readuntil(b"hello"), PAUSE * 4)
    assert data.startswith(b"HTTP/1.1 200 OK\r\n") and data.endswith(b"\r\n\r\nhello")
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")  # the connection is kept alive
    assert (await asyncio.wait_for(reader.readuntil(b"hello"), PAUSE * 4)).startswith(b"HTTP/1.1 200 OK")
    writer.close()


async def test_head_request_gets_its_head_at_once(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n")
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), PAUSE / 2)
    assert head.startswith(b"HTTP/1.1 200 OK\r\n") and b"content-length: 5\r\n" in head
    writer.close()
