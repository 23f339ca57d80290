"""Fan-out benchmark of the gateway: events delivered to many WebSocket clients, subscription rates, memory.

Starts its own nats-server (from the wheel), the gateway (``manage.py rungateway`` on a free loopback port)
and a small publishing service (nats-py, in this process); the clients are raw RES WebSocket clients in
several Node processes (``bench/ws_clients.js``), so the load generator is not the bottleneck. Prints:

- delivered events/s and p50/p99 latency (publish to client receipt) for one model subscribed by
  ``--clients`` clients, for a burst of ``--burst`` events and for ``--rate`` events/s paced;
- lost, duplicated and reordered events per client (should all be 0);
- gateway CPU seconds per 10,000 delivered events;
- subscriptions/s on resource cache misses and on cache hits;
- gateway RSS per connection holding 10 subscriptions.

Run: ``.venv/bin/python bench/fanout.py [--clients 1000] [--workers 4] [--gateway-workers N] ...`` (figures
only, no assertions; ``--gateway COMMAND`` measures another gateway: see ``bench/processes.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import nats
from nats.aio.msg import Msg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.processes import CpuMeter, group_pids, rss_bytes, start_gateway  # noqa: E402
from res_protocol import dumps, result_payload  # noqa: E402
from tests.support import NatsServer  # noqa: E402

HERE = Path(__file__).resolve().parent
MODEL = "bench.model"


# --- the publishing service ---------------------------------------------------------------------------


class Publisher:
    """Answers get/access for ``bench.*`` and publishes numbered change events on ``bench.model``."""

    def __init__(self) -> None:
        self.nc: Any = None
        self.seq = 0

    async def start(self, nats_url: str) -> None:
        self.nc = await nats.connect(nats_url)
        await self.nc.subscribe("get.bench.>", cb=self._get)
        await self.nc.subscribe("access.bench.>", cb=self._access)
        await self.nc.flush()

    async def _get(self, msg: Msg) -> None:
        rid = msg.subject[len("get.") :]
        model = {"seq": 0, "t": 0} if rid == MODEL else {"name": rid}
        await msg.respond(result_payload({"model": model}))

    async def _access(self, msg: Msg) -> None:
        await msg.respond(result_payload({"get": True}))

    async def publish(self) -> None:
        self.seq += 1
        payload = {"values": {"seq": self.seq, "t": time.time() * 1000}}
        await self.nc.publish(f"event.{MODEL}.change", dumps(payload))

    async def close(self) -> None:
        await self.nc.drain()


# --- the Node load workers ----------------------------------------------------------------------------


class Workers:
    """Several ``ws_clients.js`` processes; a command goes to each and their answers come back as a list."""

    def __init__(self, procs: list[asyncio.subprocess.Process]) -> None:
        self.procs = procs

    @classmethod
    async def start(cls, count: int, url: str) -> Workers:
        procs = [
            await asyncio.create_subprocess_exec(
                "node",
                str(HERE / "ws_clients.js"),
                url,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                limit=2**26,  # a latency histogram comes back as one line
            )
            for _ in range(count)
        ]
        return cls(procs)

    async def command(self, commands: list[dict[str, Any]], wait: float) -> list[dict[str, Any]]:
        async def one(proc: asyncio.subprocess.Process, cmd: dict[str, Any]) -> dict[str, Any]:
            proc.stdin.write(json.dumps(cmd).encode() + b"\n")
            await proc.stdin.drain()
            return json.loads(await proc.stdout.readline())

        return await asyncio.wait_for(asyncio.gather(*map(one, self.procs, commands)), wait + 10)

    async def broadcast(self, cmd: dict[str, Any], wait: float = 10) -> list[dict[str, Any]]:
        return await self.command([cmd] * len(self.procs), wait)

    async def open(self, rids: list[list[str]], wait: float) -> dict[str, float]:
        """Open one connection per rid list, spread over the workers; totals and the slowest worker's time."""
        shares = [rids[i :: len(self.procs)] for i in range(len(self.procs))]
        answers = await self.command([{"op": "open", "rids": share, "wait": wait} for share in shares], wait)
        return {
            "subscribed": sum(a["subscribed"] for a in answers),
            "errors": sum(a["errors"] for a in answers),
            "seconds": max(a["seconds"] for a in answers),
        }

    async def close(self) -> None:
        for proc in self.procs:
            if proc.returncode is None:
                proc.stdin.write(b'{"op": "close"}\n')
        for proc in self.procs:
            try:
                await asyncio.wait_for(proc.wait(), 5)
            except TimeoutError:
                proc.kill()
                await proc.wait()


# --- figures ------------------------------------------------------------------------------------------


def percentile(hist: dict[int, int], fraction: float) -> float:
    """The latency (ms) below which ``fraction`` of the samples in a 0.1 ms histogram fall."""
    total = sum(hist.values())
    seen = 0
    for bucket in sorted(hist):
        seen += hist[bucket]
        if seen >= fraction * total:
            return bucket / 10
    return float("nan")


async def measure_events(
    workers: Workers,
    publisher: Publisher,
    cpu: CpuMeter,
    count: int,
    rate: float | None,
    wait: float,
) -> str:
    """Publish ``count`` events (as fast as possible, or ``rate`` a second) and report what clients saw."""
    await workers.broadcast({"op": "arm", "event": f"{MODEL}.change"})
    publisher.seq = 0
    cpu.start()
    start = time.time() * 1000
    for i in range(count):
        if rate:
            await asyncio.sleep(max(0.0, start / 1000 + i / rate - time.time()))
        await publisher.publish()
    await publisher.nc.flush()
    answers = await workers.broadcast({"op": "collect", "count": count, "wait": wait}, wait)
    used = cpu.used()
    hist: dict[int, int] = {}
    for answer in answers:
        for bucket, n in answer["hist"].items():
            hist[int(bucket)] = hist.get(int(bucket), 0) + n
    received = sum(a["received"] for a in answers)
    seconds = (max(a["last"] for a in answers) - start) / 1000 if received else float("nan")
    lost, dup, reordered = (sum(a[k] for a in answers) for k in ("lost", "duplicated", "reordered"))
    return (
        f"{received:,} delivered in {seconds:.2f} s = {received / seconds:,.0f} events/s; "
        f"latency p50 {percentile(hist, 0.5):.1f} ms, p99 {percentile(hist, 0.99):.1f} ms; "
        f"lost {lost}, duplicated {dup}, reordered {reordered}; "
        f"gateway CPU {used['gateway'] / max(received, 1) * 10_000:.3f} s per 10,000 events; "
        + CpuMeter.text(used)
    )


async def run(args: argparse.Namespace) -> None:
    nats_server = NatsServer()
    gateway, port = start_gateway(nats_server.url, args.gateway, workers=args.gateway_workers)
    url = f"ws://127.0.0.1:{port}/"
    publisher = Publisher()
    await publisher.start(nats_server.url)
    workers = await Workers.start(args.workers, url)
    try:
        opened = await workers.open([[MODEL]] * args.clients, wait=60)
        print(f"fanout: {opened['subscribed']} clients subscribed to {MODEL} ({opened['errors']} errors)")
        cpu = CpuMeter(
            {
                "gateway": group_pids(gateway.pid),
                "clients": [proc.pid for proc in workers.procs],
                "nats-server": [nats_server.pid],
                "publisher": [os.getpid()],
            }
        )
        burst = await measure_events(workers, publisher, cpu, args.burst, None, wait=120)
        print(f"burst of {args.burst} events to {args.clients} clients: {burst}", flush=True)
        paced_count = int(args.rate * args.paced_seconds)
        paced = await measure_events(workers, publisher, cpu, paced_count, args.rate, wait=60)
        print(f"paced {args.rate:g} events/s for {args.paced_seconds:g} s: {paced}", flush=True)

        rids = [f"bench.item.{i}" for i in range(args.sub_resources)]
        per_conn = args.sub_resources // args.sub_connections
        lists = [rids[i * per_conn : (i + 1) * per_conn] for i in range(args.sub_connections)]
        for label in ("cache misses", "cache hits"):
            cpu.start()
            subs = await workers.open(lists, wait=120)
            rate = subs["subscribed"] / subs["seconds"]
            print(
                f"subscriptions ({label}): {subs['subscribed']:,} in {subs['seconds']:.2f} s = {rate:,.0f}/s "
                f"({subs['errors']} errors); {CpuMeter.text(cpu.used())}",
                flush=True,
            )

        rss_before = rss_bytes(gateway.pid)
        held = await workers.open([rids[:10]] * args.rss_connections, wait=120)
        await asyncio.sleep(1)
        per_connection = (rss_bytes(gateway.pid) - rss_before) / args.rss_connections
        print(
            f"gateway RSS: {per_connection / 1024:,.1f} KiB per connection holding 10 subscriptions "
            f"({args.rss_connections} connections, {held['errors']} errors; "
            f"total {rss_bytes(gateway.pid) / 2**20:,.0f} MiB)",
            flush=True,
        )
    finally:
        await workers.close()
        await publisher.close()
        gateway.stop()
        nats_server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=1000, help="clients subscribed to the one model")
    parser.add_argument("--workers", type=int, default=4, help="Node processes holding the clients")
    parser.add_argument("--burst", type=int, default=1000, help="events published at once")
    parser.add_argument("--rate", type=float, default=50, help="events/s in the paced run")
    parser.add_argument("--paced-seconds", type=float, default=10)
    parser.add_argument("--sub-resources", type=int, default=2000, help="distinct resources subscribed")
    parser.add_argument("--sub-connections", type=int, default=100, help="connections sharing them")
    parser.add_argument("--rss-connections", type=int, default=1000)
    parser.add_argument("--gateway-workers", type=int, default=None, help="rungateway --workers")
    parser.add_argument("--gateway", help="another gateway's command line, with {nats} and {port}")
    args = parser.parse_args()
    if not (HERE / "node_modules").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=HERE, check=True)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
