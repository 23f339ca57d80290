"""The in-process test kit: a gateway on the in-memory broker, its service side and clients without sockets.

The fixtures (in ``tests/gateway/conftest.py``) are the process kit's under a ``mem_`` prefix, with the
same :class:`~tests.harness.Service` and :class:`~tests.harness.Client`, so a test moves between the two
by its fixture names:

- ``broker``: the :class:`~res_gateway.mq.memory.MemoryBroker` of the test.
- ``mem_gateway``: a :class:`~res_gateway.gateway.Gateway` on a :class:`~res_gateway.mq.memory.MemoryClient`,
  in the test's event loop, configured with ``mem_config`` (a fixture a module may override).
- ``mem_service``: a :class:`~tests.harness.Service` on the broker.
- ``mem_connect``, ``mem_client``, ``mem_legacy_client``: :class:`~tests.harness.Client` objects driving a
  :class:`~res_gateway.connection.Connection` through :class:`InProcessSocket`.
"""

from __future__ import annotations

import asyncio
from typing import Any

from res_gateway.connection import Connection, RequestInfo
from res_gateway.gateway import Gateway
from res_gateway.mq.memory import BrokerSubscription, MemoryBroker
from res_protocol.version import LEGACY
from tests.harness import DEFAULT_CONFIG, Client, Service, WireHandler

#: ``assert_no_*`` waits: nothing is on a wire, what is due comes within a few turns of the loop.
QUIET = 0.02

#: The in-memory gateway's request timeout (seconds): what tests wait for when they let a request time out.
REQUEST_TIMEOUT = 0.5

#: RES_GATEWAY of the in-memory gateway, before ``mem_config``.
CONFIG: dict[str, Any] = {**DEFAULT_CONFIG, "requestTimeout": round(REQUEST_TIMEOUT * 1000)}


class MemoryWire:
    """A :class:`~tests.harness.Wire` on the broker; each message is handled in a task of its own."""

    def __init__(self, broker: MemoryBroker) -> None:
        self.broker = broker
        self._subs: list[BrokerSubscription] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def publish(self, subject: str, payload: bytes, reply: str = "") -> None:
        self.broker.publish(subject, payload, reply or None)

    async def subscribe(self, subject: str, handler: WireHandler) -> None:
        def on_message(subject: str, payload: bytes, reply: str | None) -> None:
            task = asyncio.ensure_future(handler(subject, payload, reply or ""))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        self._subs.append(self.broker.subscribe(subject, on_message))

    async def sync(self) -> None:
        await self.broker.flush()

    async def close(self) -> None:
        for sub in self._subs:
            sub.unsubscribe()
        for task in list(self._tasks):
            task.cancel()


async def memory_service(broker: MemoryBroker) -> Service:
    """A test service on the broker."""
    return await Service.on(MemoryWire(broker), QUIET)


class InProcessSocket:
    """What :class:`~tests.harness.Client` uses of a WebSocket, on a :class:`Connection` in this process.

    The connection writes through its ``send`` callable as it does to an ASGI server; a
    ``websocket.close`` from it ends the iteration, as the server closing the socket does.
    """

    def __init__(self, gateway: Gateway, request_info: RequestInfo | None = None) -> None:
        self._received: asyncio.Queue[str | None] = asyncio.Queue()
        self.close_code: int | None = None
        self.connection = Connection(  # a client that sends no version speaks 1.1.1, as over a WebSocket
            gateway, request_info=request_info, protocol=LEGACY, send=self._from_gateway
        )

    async def _from_gateway(self, message: dict[str, Any]) -> None:
        if message["type"] == "websocket.send":
            self._received.put_nowait(message["text"])
        else:
            self.close_code = message.get("code")
            self._received.put_nowait(None)

    async def send(self, text: str | bytes) -> None:
        self.connection.receive(text)

    def __aiter__(self) -> InProcessSocket:
        return self

    async def __anext__(self) -> str:
        text = await self._received.get()
        if text is None:
            raise StopAsyncIteration
        return text

    async def close(self) -> None:
        await self.connection.close()
        self._received.put_nowait(None)


async def open_in_process(gateway: Gateway, request_info: RequestInfo | None = None) -> Client:
    """A client on a new connection of ``gateway``."""
    socket = InProcessSocket(gateway, request_info)
    await socket.connection.open()
    return Client(socket, QUIET)
