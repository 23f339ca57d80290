"""What one abusive client costs the demo stack: memory kept after refused requests, and the latency other
clients see while it floods.

Starts its own nats-server, a fresh SQLite database with the demo data in a temporary directory, the
service (``runresservice``) and the gateway (``rungateway``), all on loopback with ``DJANGO_DEBUG=0``. Then:

1. **refused requests**: one anonymous WebSocket client sends ``--refused`` subscribes to resources that do
   not exist (``library.zz<n>``), at most ``--window`` unanswered at a time. The resident memory of the
   gateway and of the service is printed before, at each quarter, and after ``--idle`` seconds of quiet.
2. **flood**: one anonymous client sends ``--flood`` subscribes at once without waiting for answers, while
   another client sends ``get.library.book.1`` one after another: that client's latency (p50, max) before
   and during the flood, and how the flooding client's requests were answered.

Run: ``.venv/bin/python bench/abuse.py [--refused 20000] [--window 100] [--idle 10] [--flood 2000]
[--gateway-config JSON]`` (``'{"maxRequestsInFlight": 0, "maxSubscribeRate": 0}'`` turns the gateway's
per-connection limits off).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

import websockets

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.processes import rss_bytes, start_gateway  # noqa: E402
from tests.support import NatsServer, manage  # noqa: E402


class Client:
    """A raw RES WebSocket client: numbered requests, answers by id."""

    def __init__(self, ws: websockets.ClientConnection) -> None:
        self.ws = ws
        self.ids = iter(range(1, 1 << 62))
        self.waiting: dict[int, asyncio.Future[dict]] = {}
        self.reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        async for text in self.ws:
            msg = json.loads(text)
            future = self.waiting.pop(msg.get("id"), None)
            if future is not None:
                future.set_result(msg)

    async def send(self, method: str) -> asyncio.Future[dict]:
        id = next(self.ids)
        future = self.waiting[id] = asyncio.get_running_loop().create_future()
        await self.ws.send(json.dumps({"id": id, "method": method}))
        return future

    async def request(self, method: str) -> dict:
        return await asyncio.wait_for(await self.send(method), 30)


def megabytes(pgid: int) -> str:
    return f"{rss_bytes(pgid) / 2**20:.0f} MB"


async def refused(url: str, gateway: int, service: int, count: int, window: int, idle: float) -> None:
    print(f"refused subscribes: {count}, at most {window} unanswered")
    print(f"  start: gateway {megabytes(gateway)}, service {megabytes(service)}")
    async with websockets.connect(url, max_size=None) as ws:
        client = Client(ws)
        pending: collections.deque[asyncio.Future[dict]] = collections.deque()
        codes: collections.Counter[str] = collections.Counter()
        started = time.monotonic()
        for i in range(count):
            pending.append(await client.send(f"subscribe.library.zz{i}"))
            while len(pending) >= window or (pending and pending[0].done()):
                codes[(await asyncio.wait_for(pending.popleft(), 30)).get("error", {}).get("code", "ok")] += 1
            if (i + 1) % (count // 4 or 1) == 0:
                print(f"  {i + 1:>6}: gateway {megabytes(gateway)}, service {megabytes(service)}")
        for future in pending:
            codes[(await asyncio.wait_for(future, 30)).get("error", {}).get("code", "ok")] += 1
        rate = count / (time.monotonic() - started)
        print(f"  answers: {dict(codes)}, {rate:.0f} requests/s")
    await asyncio.sleep(idle)
    print(f"  after {idle:.0f} s idle: gateway {megabytes(gateway)}, service {megabytes(service)}")


async def latencies(client: Client, stop: asyncio.Event, out: list[float]) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        await client.request("get.library.book.1")
        out.append((time.perf_counter() - started) * 1000)


async def flood(url: str, count: int) -> None:
    async with websockets.connect(url, max_size=None) as w1, websockets.connect(url, max_size=None) as w2:
        other, abuser = Client(w1), Client(w2)
        quiet: list[float] = []
        stop = asyncio.Event()
        measuring = asyncio.ensure_future(latencies(other, stop, quiet))
        await asyncio.sleep(2)
        stop.set()
        await measuring
        during: list[float] = []
        stop = asyncio.Event()
        measuring = asyncio.ensure_future(latencies(other, stop, during))
        started = time.monotonic()
        answers = [await abuser.send(f"subscribe.library.zz{i}") for i in range(count)]
        codes: collections.Counter[str] = collections.Counter()
        for answer in answers:
            codes[(await asyncio.wait_for(answer, 60)).get("error", {}).get("code", "ok")] += 1
        took = time.monotonic() - started
        stop.set()
        await measuring
    print(
        f"flood: {count} subscribes sent at once by one client, all answered in {took:.1f} s: {dict(codes)}"
    )
    for name, values in (("quiet", quiet), ("during the flood", during)):
        print(
            f"  another client's get.library.book.1, {name}: {len(values)} requests, "
            f"p50 {statistics.median(values):.1f} ms, max {max(values):.1f} ms"
        )


async def main(args: argparse.Namespace) -> None:
    nats = NatsServer()
    with tempfile.TemporaryDirectory() as tmp:
        env = {"DATABASE_URL": f"sqlite:///{tmp}/db.sqlite3", "NATS_URL": nats.url, "LOG_LEVEL": "ERROR"}
        env |= {
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        }
        os.environ.update(env)
        for command in (("migrate", "-v0"), ("loaddemo",)):
            setup = manage(*command, env=env)
            setup.proc.wait()
            setup.stop()
        service = manage("runresservice", env=env)
        gateway, port = start_gateway(nats.url, config=json.loads(args.gateway_config))
        try:
            await asyncio.sleep(2)
            url = f"ws://127.0.0.1:{port}/"
            if args.refused:
                await refused(url, gateway.pid, service.pid, args.refused, args.window, args.idle)
            if args.flood:
                await flood(url, args.flood)
        finally:
            gateway.stop()
            service.stop()
            nats.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--refused", type=int, default=20_000)
    parser.add_argument("--window", type=int, default=100)
    parser.add_argument("--idle", type=float, default=10)
    parser.add_argument("--flood", type=int, default=2000)
    parser.add_argument(
        "--gateway-config", default="{}", help="RES_GATEWAY keys as JSON, e.g. '{\"maxSubscribeRate\": 0}'"
    )
    asyncio.run(main(parser.parse_args()))
