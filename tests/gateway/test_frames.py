"""WebSocket frames on the wire under ``rungateway``, both ways.

Without compression the gateway frames an event once and writes the same bytes to every socket; with
permessage-deflate each socket compresses with its own context. Client messages go from the socket
straight to the session: fragmented, pipelined and invalid ones are checked too.
"""

from __future__ import annotations

import asyncio
import json
import struct
import zlib
from collections.abc import AsyncIterator

import pytest

from tests.gateway.common import client_frame, serve, upgrade_request
from tests.gateway.running import StartGateway
from tests.harness import Client, Service

#: The text of a change event setting ``s``, with the string left out.
EVENT = '{"event":"test.model.change","data":{"values":{"s":""}}}'


def event_text(size: int, char: str = "x") -> str:
    """A change event whose UTF-8 encoding is ``size`` bytes (``char`` encodes to one byte or more)."""
    width = len(char.encode())
    pad, rest = divmod(size - len(EVENT), width)
    text = EVENT.replace('""', '"' + char * pad + "x" * rest + '"')
    assert len(text.encode()) == size
    return text


class RawClient:
    """A WebSocket client on a plain socket that reads the server's frames itself.

    With ``deflate`` it offers permessage-deflate and inflates messages with one context of its own.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, deflate: bool) -> None:
        self.reader, self.writer = reader, writer
        self.inflater = zlib.decompressobj(-15) if deflate else None

    @classmethod
    async def connect(cls, port: int, deflate: bool = False) -> RawClient:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        offer = [b"Sec-WebSocket-Extensions: permessage-deflate"] if deflate else []
        writer.write(upgrade_request(*offer))
        response = await reader.readuntil(b"\r\n\r\n")
        assert response.startswith(b"HTTP/1.1 101")
        assert (b"permessage-deflate" in response) is deflate
        return cls(reader, writer, deflate)

    def send(self, text: str | bytes, fragments: int = 1) -> None:
        """A text message in one frame, or in ``fragments`` frames (a text frame and continuations)."""
        payload = text.encode() if isinstance(text, str) else text
        step = -(-len(payload) // fragments)
        for n in range(fragments):
            part = payload[n * step : (n + 1) * step]
            self.writer.write(client_frame(part, 0x01 if n == 0 else 0x00, fin=n == fragments - 1))

    async def frame(self) -> tuple[bytes, bytes]:
        """The next frame's header and payload, read exactly as RFC 6455 lays them out."""
        return await asyncio.wait_for(self._frame(), 10)

    async def _frame(self) -> tuple[bytes, bytes]:
        head = await self.reader.readexactly(2)
        length = head[1] & 0x7F
        if length == 126:
            extended = await self.reader.readexactly(2)
            length = struct.unpack("!H", extended)[0]
        elif length == 127:
            extended = await self.reader.readexactly(8)
            length = struct.unpack("!Q", extended)[0]
        else:
            extended = b""
        return head + extended, await self.reader.readexactly(length)

    async def message(self) -> str:
        """The next message: a final text frame, compressed (RSV1) when deflate was negotiated."""
        header, payload = await self.frame()
        if self.inflater is None:
            assert header[0] == 0x81
            return payload.decode()
        assert header[0] == 0xC1
        return self.inflater.decompress(payload + b"\x00\x00\xff\xff").decode()

    def close(self) -> None:
        self.writer.close()


def expected_header(size: int) -> bytes:
    if size < 126:
        return bytes([0x81, size])
    if size < 65536:
        return bytes([0x81, 126]) + struct.pack("!H", size)
    return bytes([0x81, 127]) + struct.pack("!Q", size)


# Payload sizes in bytes: each side of the 7-bit, 16-bit and 64-bit length encodings, and texts whose
# characters take two and four bytes (one of them longer than the frames the gateway keeps for reuse).
SIZES = [(125, "x"), (126, "x"), (65535, "x"), (65536, "x"), (3001, "é"), (70001, "😀")]


async def test_every_client_reads_the_same_well_formed_frames(rungateway: StartGateway, service: Service):
    gateway = rungateway()
    serve(service, "test.model")
    raw = await RawClient.connect(gateway.port)
    clients = [await Client.connect(gateway.ws_url) for _ in range(3)]
    try:
        raw.send('{"id":1,"method":"subscribe.test.model"}')
        header, payload = await raw.frame()
        assert json.loads(payload)["id"] == 1
        for c in clients:
            await c.send("subscribe.test.model").result()
        for size, char in SIZES:
            text = event_text(size, char)
            await service.publish("event.test.model.change", json.loads(text)["data"])
            assert await raw.frame() == (expected_header(size), text.encode())
            for c in clients:
                assert await c.get_event() == json.loads(text)
    finally:
        raw.close()
        for c in clients:
            await c.close()


async def test_compressed_clients_each_get_their_own_stream(rungateway: StartGateway, service: Service):
    gateway = rungateway("--wscompression")
    serve(service, "test.model")
    clients = [await RawClient.connect(gateway.port, deflate) for deflate in (True, True, False)]
    try:
        for c in clients:
            c.send('{"id":1,"method":"subscribe.test.model"}')
            assert json.loads(await c.message())["id"] == 1
        # Repeated texts make each compressor refer back to what its own client has already read.
        texts = [event_text(300 + n % 3, "ab"[n % 2]) for n in range(12)]
        for text in texts:
            await service.publish("event.test.model.change", json.loads(text)["data"])
        for c in clients:
            assert [await c.message() for _ in texts] == texts
    finally:
        for c in clients:
            c.close()


@pytest.fixture
async def raw(rungateway: StartGateway) -> AsyncIterator[RawClient]:
    """A raw client of a gateway started for the test."""
    client = await RawClient.connect(rungateway().port)
    yield client
    client.close()


async def test_fragmented_and_pipelined_requests_are_answered_in_order(raw: RawClient):
    raw.send('{"id":1,"method":"version","params":{"protocol":"1.2.3"}}', fragments=3)
    for id in range(2, 6):  # in one write with the next
        raw.send(f'{{"id":{id},"method":"version"}}')
    answers = [json.loads((await raw.frame())[1]) for _ in range(5)]
    assert answers == [{"result": {"protocol": "1.2.3"}, "id": id} for id in range(1, 6)]


async def test_invalid_utf8_closes_the_connection(raw: RawClient):
    raw.send(b'{"id":1,"method":"version","params":"\xff"}')
    header, payload = await raw.frame()
    assert (header[0], payload[:2]) == (0x88, struct.pack("!H", 1007))  # close: invalid frame data
