"""The gateway's subscribe path in one process: CPU per subscription, without sockets or a load generator.

A gateway (its cache and its NATS client, on a nats-server from the wheel) runs in this process; the
service of ``fanout.py`` answers access and get requests from a child process. Each round opens
``--connections`` connections without sockets, each sending a ``version`` request and ``--subs``
subscribe requests for models of its own at once (cache misses), then as many new connections subscribe
the same models (cache hits). It prints this process's CPU per 1,000 subscriptions in each round and the
least of them per phase: the least is the steadiest figure on a machine doing other work. With
``--count`` it prints Python calls per subscription instead (function and C calls, counted through
``sys.setprofile``; slow, but the same from run to run), to compare two versions of the code exactly.

The WebSocket, HTTP upgrade and nats-server work is not here: ``storm.py`` measures the whole storm.

Run: ``.venv/bin/python bench/subscribe_path.py [--rounds 4] [--connections 500] [--subs 10] [--count]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from collections import deque
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support import NatsServer  # noqa: E402

SERVICE = """
import asyncio, sys
sys.path.insert(0, sys.argv[2])
from bench.fanout import Publisher

async def main():
    publisher = Publisher()
    await publisher.start(sys.argv[1])
    print("ready", flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


class CallCounter:
    """Counts Python and C function calls while installed with ``sys.setprofile``."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, frame: Any, event: str, arg: Any) -> None:
        if event == "call" or event == "c_call":
            self.calls += 1


async def phase(gateway: Any, args: argparse.Namespace, models: str) -> tuple[float, int]:
    """Open the connections and subscribe; (CPU seconds, calls or 0) until every response is in."""
    from res_gateway.connection import Connection
    from res_protocol.version import LEGACY

    expected = args.connections * (args.subs + 1)
    received = 0
    done = asyncio.get_running_loop().create_future()

    def write_now(texts: deque[str]) -> bool:  # the socket takes everything at once
        nonlocal received
        received += len(texts)
        texts.clear()
        if received >= expected and not done.done():
            done.set_result(None)
        return True

    async def send(message: dict[str, Any]) -> None:
        raise AssertionError(f"unexpected ASGI message {message['type']}")

    counter = CallCounter() if args.count else None
    if counter is not None:
        sys.setprofile(counter)
    started = time.process_time()
    for c in range(args.connections):
        conn = Connection(gateway, protocol=LEGACY, send=send, write_now=write_now)
        await conn.open()
        conn.receive('{"id":0,"method":"version","params":{"protocol":"1.2.3"}}')
        for k in range(args.subs):
            conn.receive(f'{{"id":{k + 1},"method":"subscribe.{models}.{c * args.subs + k}"}}')
        await asyncio.sleep(0)  # let replies in between connections, as a storm's sockets do
    await asyncio.wait_for(done, 60)
    cpu = time.process_time() - started
    sys.setprofile(None)
    return cpu, counter.calls if counter is not None else 0


async def run(args: argparse.Namespace, nats_url: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "resproject.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from res_gateway.conf import gateway_settings
    from res_gateway.gateway import get_gateway, stop_gateway
    from res_gateway.server import tune_garbage_collector

    gateway_settings.configure({"natsUrl": nats_url})
    gateway = get_gateway()
    await gateway.ready()
    tune_garbage_collector()  # as rungateway does
    subs = args.connections * args.subs
    figures: dict[str, list[float]] = {"miss": [], "hit": []}
    for round in range(args.rounds):
        for label in ("miss", "hit"):
            cpu, calls = await phase(gateway, args, f"bench.path{round}")
            figures[label].append(cpu)
            line = f"round {round + 1}, cache {label}: {cpu / subs * 1e6:,.0f} ms CPU per 1,000 subscriptions"
            print(line + (f", {calls / subs:,.1f} calls per subscription" if calls else ""), flush=True)
    least = ", ".join(f"cache {k} {min(v) / subs * 1e6:,.0f} ms" for k, v in figures.items())
    print(f"least per 1,000 subscriptions: {least}", flush=True)
    await stop_gateway()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--connections", type=int, default=500)
    parser.add_argument("--subs", type=int, default=10, help="subscriptions per connection")
    parser.add_argument("--count", action="store_true", help="Python calls per subscription, not CPU")
    args = parser.parse_args()
    import uvloop

    nats_server = NatsServer()
    service = subprocess.Popen(
        [sys.executable, "-c", SERVICE, nats_server.url, str(ROOT)], stdout=subprocess.PIPE
    )
    try:
        assert service.stdout is not None
        service.stdout.readline()  # subscribed
        uvloop.run(run(args, nats_server.url))
    finally:
        service.kill()
        service.wait()
        nats_server.stop()


if __name__ == "__main__":
    main()
