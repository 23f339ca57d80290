"""REST bridge benchmark: cached ``GET /api/<rid>`` requests per second at a given concurrency.

Starts its own nats-server (from the wheel), the gateway (``manage.py rungateway`` on a free loopback port,
resources kept cached for a minute) and a tiny service (nats-py, in this process) that answers access and
get requests. Then ``--concurrency`` keep-alive connections (a tiny asyncio client, so the load generator
stays cheap) send ``--requests`` GETs of one model with a reference (bounded by ``--seconds``). Prints
requests/s, p50/p99 latency, the gateway's CPU time per request, statuses, and how many get and access
requests reached the service (a cached resource is fetched once; access is asked per HTTP request, as
resgate does). With ``--wrk`` the load comes from ``wrk`` (one thread, ``--concurrency`` connections, for
``--seconds``) instead. The load generator shares the machine's cores with the gateway: the figures are a
floor.

Run: ``.venv/bin/python bench/http_get.py [--concurrency 50] [--requests 5000] [--seconds 60] [--wrk]
[--gateway-workers N]`` (``--gateway COMMAND`` measures another gateway: see ``bench/processes.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

import nats
from nats.aio.msg import Msg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.processes import cpu_seconds, group_pids, start_gateway  # noqa: E402
from res_protocol import result_payload  # noqa: E402
from tests.support import NatsServer  # noqa: E402

RESULTS = {
    "get.bench.model": {"model": {"name": "bench", "count": 42, "child": {"rid": "bench.child"}}},
    "get.bench.child": {"collection": ["a", "b", {"data": {"x": 1}}]},
}


async def serve(nats_url: str, seen: Counter[str]) -> nats.NATS:
    nc = await nats.connect(nats_url)

    async def on_request(msg: Msg) -> None:
        seen[msg.subject.split(".", 1)[0]] += 1
        result = {"get": True} if msg.subject.startswith("access.") else RESULTS.get(msg.subject)
        await nc.publish(msg.reply, result_payload(result))

    await nc.subscribe("access.bench.>", cb=on_request)
    await nc.subscribe("get.bench.>", cb=on_request)
    await nc.flush()
    return nc


async def fetch(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    """One keep-alive HTTP/1.1 exchange; returns the status."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    length = next(
        (int(v) for k, _, v in (h.partition(b":") for h in lines[1:]) if k.lower() == b"content-length"), 0
    )
    await reader.readexactly(length)
    return int(lines[0].split()[1])


async def load(url: str, concurrency: int, requests: int, seconds: float, gateway_pid: int) -> None:
    host, port = url.removeprefix("http://").split(":")
    request = f"GET /api/bench/model HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    remaining = requests
    deadline = time.monotonic() + seconds

    async def worker() -> None:
        nonlocal remaining
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            await fetch(reader, writer, request)  # the first request warms the cache
            while remaining > 0 and time.monotonic() < deadline:
                remaining -= 1
                start = time.perf_counter()
                statuses[await fetch(reader, writer, request)] += 1
                latencies.append(time.perf_counter() - start)
        finally:
            writer.close()

    pids = group_pids(gateway_pid)
    cpu_before, started = cpu_seconds(pids), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed, cpu = time.perf_counter() - started, cpu_seconds(pids) - cpu_before

    done = len(latencies)
    quantiles = statistics.quantiles(latencies, n=100) if done > 1 else [0.0] * 99
    print(f"GET /api/bench/model, concurrency {concurrency}: {done} requests in {elapsed:.2f} s")
    print(f"  {done / elapsed:,.0f} requests/s; latency p50 {quantiles[49] * 1000:.1f} ms, "
          f"p99 {quantiles[98] * 1000:.1f} ms")  # fmt: skip
    print(f"  gateway CPU {cpu * 1000 / max(done, 1):.2f} ms per request; statuses: {dict(statuses)}")


async def load_wrk(url: str, concurrency: int, seconds: float, gateway_pid: int) -> None:
    """The same load from ``wrk`` (one thread): requests/s, latency and the gateway's CPU per request."""
    wrk = ["wrk", "-t1", f"-c{concurrency}", "--latency", f"{url}/api/bench/model"]
    warm = await asyncio.create_subprocess_exec(*wrk[:-1], "-d1s", wrk[-1], stdout=asyncio.subprocess.DEVNULL)
    await warm.wait()
    pids = group_pids(gateway_pid)
    cpu_before = cpu_seconds(pids)
    proc = await asyncio.create_subprocess_exec(
        *wrk[:-1], f"-d{seconds:g}s", wrk[-1], stdout=asyncio.subprocess.PIPE
    )
    out = (await proc.communicate())[0].decode()
    cpu = cpu_seconds(pids) - cpu_before
    done = int(re.search(r"(\d+) requests in", out).group(1))
    rate = float(re.search(r"Requests/sec:\s*([\d.]+)", out).group(1))
    p50 = re.search(r"^\s*50%\s+(\S+)", out, re.M).group(1)  # not a "+/- Stdev" figure ending in 50%
    p99 = re.search(r"^\s*99%\s+(\S+)", out, re.M).group(1)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    print(f"wrk GET /api/bench/model, {concurrency} connections: {done} requests in {seconds:g} s")
    print(f"  {rate:,.0f} requests/s; latency p50 {p50}, p99 {p99}")
    per = cpu / max(done, 1)
    print(f"  gateway CPU {per * 1000:.3f} ms per request ({per * 10_000:.2f} s per 10,000); "
          f"non-2xx: {errors.group(1) if errors else 0}")  # fmt: skip


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--wrk", action="store_true", help="load from wrk (for --seconds) instead")
    parser.add_argument("--gateway-workers", type=int, default=None, help="rungateway --workers")
    parser.add_argument("--gateway", help="another gateway's command line, with {nats} and {port}")
    args = parser.parse_args()

    nats_server = NatsServer()
    gateway, port = start_gateway(
        nats_server.url, args.gateway, {"unsubscribeDelay": 60}, workers=args.gateway_workers
    )
    url = f"http://127.0.0.1:{port}"
    seen: Counter[str] = Counter()
    nc = await serve(nats_server.url, seen)
    try:
        if args.wrk:
            await load_wrk(url, args.concurrency, args.seconds, gateway.pid)
        else:
            await load(url, args.concurrency, args.requests, args.seconds, gateway.pid)
        print(f"  service saw {seen['get']} get and {seen['access']} access requests")
    finally:
        gateway.stop()  # no more requests: the service answers those it holds, then closes
        await nc.drain()
        nats_server.stop()


if __name__ == "__main__":
    asyncio.run(main())
