"""Subscribe-storm and memory benchmark of the gateway: many clients subscribing at once.

Starts its own nats-server (from the wheel), the gateway and the publishing service of ``fanout.py``, and
Node clients (``ws_clients.js``). Each phase runs on a gateway started afresh. Prints:

- idle RSS: the gateway's resident memory once it listens and is connected, before any client (and its
  PSS, which counts the pages forked workers share once);
- memory burst: ``--burst-connections`` connections open at once, each subscribing ``--burst-subs``
  of ``--burst-models`` models (all its requests sent at once); the gateway's RSS ``--settle`` seconds
  later, minus idle, per connection;
- subscribe storm: ``--storm-clients`` clients connect at once and each sends ``--storm-subs``
  subscribe requests at once, for distinct models (cache misses); then as many new clients do the same
  for the same models while the first ones hold them (cache hits). Subscriptions/s from the first
  connect to the last response.

Each line prints the CPU seconds used by the gateway, the clients, nats-server and the service.

Run: ``.venv/bin/python bench/storm.py [--gateway-workers N] [--gateway COMMAND]`` (figures only;
``--gateway`` measures another gateway in the same sitting: see ``bench/processes.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.fanout import HERE, Publisher, Workers  # noqa: E402
from bench.processes import CpuMeter, group_pids, pss_bytes, rss_bytes, start_gateway  # noqa: E402
from tests.support import NatsServer  # noqa: E402


class Sitting:
    """A nats-server, a gateway, the service and the Node clients, for one phase."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args

    async def __aenter__(self) -> Sitting:
        self.nats_server = NatsServer()
        self.gateway, port = start_gateway(
            self.nats_server.url, self.args.gateway, workers=self.args.gateway_workers
        )
        self.publisher = Publisher()
        await self.publisher.start(self.nats_server.url)
        self.workers = await Workers.start(self.args.workers, f"ws://127.0.0.1:{port}/")
        self.cpu = CpuMeter(
            {
                "gateway": group_pids(self.gateway.pid),
                "clients": [proc.pid for proc in self.workers.procs],
                "nats-server": [self.nats_server.pid],
                "service": [os.getpid()],
            }
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.workers.close()
        await self.publisher.close()
        self.gateway.stop()
        self.nats_server.stop()

    async def storm(self, lists: list[list[str]]) -> tuple[dict[str, float], dict[str, float]]:
        """Open one connection per list, each sending its subscribe requests at once."""
        self.cpu.start()
        opened = await self.workers.command(
            [{"op": "open", "rids": lists[i :: len(self.workers.procs)], "wait": 120, "pipeline": True}
             for i in range(len(self.workers.procs))],
            120,
        )  # fmt: skip
        totals = {
            "subscribed": sum(a["subscribed"] for a in opened),
            "errors": sum(a["errors"] for a in opened),
            "seconds": max(a["seconds"] for a in opened),
        }
        return totals, self.cpu.used()


async def memory(args: argparse.Namespace) -> None:
    async with Sitting(args) as s:
        await asyncio.sleep(1)
        idle = rss_bytes(s.gateway.pid)
        print(
            f"idle RSS: {idle / 2**20:,.1f} MiB (PSS {pss_bytes(s.gateway.pid) / 2**20:,.1f} MiB)", flush=True
        )
        models = [f"bench.mem.{i}" for i in range(args.burst_models)]
        lists = [
            [models[(c * 7 + k * 101) % len(models)] for k in range(args.burst_subs)]
            for c in range(args.burst_connections)
        ]
        subs, used = await s.storm(lists)
        await asyncio.sleep(args.settle)
        after = rss_bytes(s.gateway.pid)
        print(
            f"memory burst: {args.burst_connections:,} connections x {args.burst_subs} of "
            f"{args.burst_models:,} models at once ({subs['errors']} errors); RSS {args.settle:g} s later "
            f"{after / 2**20:,.1f} MiB = {(after - idle) / args.burst_connections / 1024:,.1f} KiB per "
            f"connection over idle; {CpuMeter.text(used)}",
            flush=True,
        )


async def storm(args: argparse.Namespace) -> None:
    async with Sitting(args) as s:
        per = args.storm_subs
        lists = [[f"bench.storm.{c * per + k}" for k in range(per)] for c in range(args.storm_clients)]
        for label in ("cache miss", "cache hit"):
            subs, used = await s.storm(lists)
            rate = subs["subscribed"] / subs["seconds"]
            print(
                f"subscribe storm, {args.storm_clients} clients x {per} at once, {label}: "
                f"{subs['subscribed']:,} in {subs['seconds']:.2f} s = {rate:,.0f}/s "
                f"({subs['errors']} errors); "
                f"gateway CPU {used['gateway'] / max(subs['subscribed'], 1) * 10_000:.2f} s per 10,000; "
                + CpuMeter.text(used),
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=4, help="Node processes holding the clients")
    parser.add_argument("--gateway-workers", type=int, default=None, help="rungateway --workers")
    parser.add_argument("--storm-clients", type=int, default=500)
    parser.add_argument("--storm-subs", type=int, default=10)
    parser.add_argument("--burst-connections", type=int, default=1000)
    parser.add_argument("--burst-subs", type=int, default=10)
    parser.add_argument("--burst-models", type=int, default=1000)
    parser.add_argument("--settle", type=float, default=2.0, help="seconds before RSS is read")
    parser.add_argument("--only", choices=("memory", "storm"), help="run one phase")
    parser.add_argument("--gateway", help="another gateway's command line, with {nats} and {port}")
    args = parser.parse_args()
    if not (HERE / "node_modules").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=HERE, check=True)
    phases: list[Any] = [memory, storm]
    for phase in phases:
        if args.only in (None, phase.__name__):
            asyncio.run(phase(args))


if __name__ == "__main__":
    main()
