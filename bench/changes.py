"""Change capture benchmark: committed writes to RES events on NATS, through the outbox and the relay.

Starts its own nats-server (from the wheel) and a fresh SQLite database in a temporary directory
(``--database-url`` for another, which must be empty: it is migrated and filled), and one relay in a
process of its own (``manage.py resoutbox relay``), as ``runresservice`` would run it. A NATS client
in this process counts the events. Then:

1. latency: ``--saves`` single ``save()`` calls, each committed on its own, one every 5 ms: from the
   save's return to its change event, p50 and p99 (once in autocommit, once in ``transaction.atomic``);
2. ``bulk_create`` of ``--rows`` books: rows/s through the relay (commit to the collection's reset);
3. ``QuerySet.update()`` of the same rows: change events/s through the relay (commit to the last event);
4. paced load: ``--rate`` changes/s for 3 s (``QuerySet.update()`` of 50 rows every 10 ms): the events/s
   delivered, and how far the last event trailed the last commit (the relay keeps up if that stays small).

The writer shares the machine's cores with the relay and nats-server: the figures are a floor.

Run: ``.venv/bin/python bench/changes.py [--database-url postgres://...] [--rows 10000] [--rate 5000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nats

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.processes import start_relay  # noqa: E402
from tests.support import NatsServer  # noqa: E402


def setup_django(database_url: str, nats_url: str) -> None:
    os.environ.update({"DATABASE_URL": database_url, "NATS_URL": nats_url, "LOG_LEVEL": "WARNING"})
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "resproject.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


class Counter:
    """Events received on a subject pattern: their count and arrival times by subject."""

    def __init__(self) -> None:
        self.count = 0
        self.last = 0.0
        self.arrived: dict[str, float] = {}
        self.changed = asyncio.Event()

    async def on(self, msg) -> None:
        self.count += 1
        self.last = time.perf_counter()
        self.arrived[msg.subject + msg.data.decode()] = self.last
        self.changed.set()

    async def until(self, predicate, seconds: float = 120) -> bool:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                while not predicate():
                    self.changed.clear()
                    await self.changed.wait()
                return True
        return False


async def bench_latency(nc, saves: int, atomic: bool) -> None:
    from django.db import transaction

    from library.models import Book

    book = await asyncio.to_thread(Book.objects.create, title="start", author="bench")
    counter = Counter()
    sub = await nc.subscribe(f"event.library.book.{book.pk}.change", cb=counter.on)
    await asyncio.sleep(0.5)
    sent: dict[str, float] = {}

    def save(i: int) -> None:
        book.title = f"edition {i}"
        with transaction.atomic() if atomic else contextlib.nullcontext():
            book.save(update_fields=["title"])
        key = f'event.library.book.{book.pk}.change{{"values":{{"title":"{book.title}"}}}}'
        sent[key] = time.perf_counter()

    for i in range(saves):
        await asyncio.to_thread(save, i)
        await asyncio.sleep(0.005)
    await counter.until(lambda: counter.count >= saves, 30)
    await sub.unsubscribe()
    latencies = sorted(counter.arrived[k] - t for k, t in sent.items() if k in counter.arrived)
    how = "in transaction.atomic" if atomic else "autocommit"
    print(
        f"latency, single saves ({how}): {len(latencies)}/{saves} events, "
        f"p50 {statistics.median(latencies) * 1000:.1f} ms, "
        f"p99 {latencies[int(len(latencies) * 0.99)] * 1000:.1f} ms"
    )


async def bench_bulk(nc, rows: int) -> list[int]:
    from library.models import Book

    resets = Counter()
    sub = await nc.subscribe("system.reset", cb=resets.on)
    await asyncio.sleep(0.3)
    started = time.perf_counter()
    await asyncio.to_thread(
        Book.objects.bulk_create, [Book(title=f"Bulk {i}", author="bulk") for i in range(rows)]
    )
    committed = time.perf_counter()
    for _ in range(12000):  # up to 2 minutes
        if await asyncio.to_thread(outbox_empty):
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)
    await sub.unsubscribe()
    done = resets.last
    print(
        f"bulk_create of {rows} rows: committed in {committed - started:.2f}s; through the relay "
        f"{done - committed:.2f}s after the commit ({rows / (done - started):.0f} rows/s from the call, "
        f"{resets.count} system.reset)"
    )
    return await asyncio.to_thread(
        lambda: list(Book.objects.filter(author="bulk").values_list("pk", flat=True))
    )


def outbox_empty() -> bool:
    from res_bridge.models import OutboxEntry

    return not OutboxEntry.objects.exists()


async def bench_update(nc, pks: list[int]) -> None:
    from library.models import Book

    counter = Counter()
    sub = await nc.subscribe("event.library.book.*.change", cb=counter.on)
    await asyncio.sleep(0.3)
    started = time.perf_counter()
    await asyncio.to_thread(Book.objects.filter(pk__in=pks).update, author="updated")
    committed = time.perf_counter()
    await counter.until(lambda: counter.count >= len(pks))
    await sub.unsubscribe()
    print(
        f"QuerySet.update() of {len(pks)} rows: committed in {committed - started:.2f}s; "
        f"{counter.count} change events, the last {counter.last - committed:.2f}s after the commit "
        f"({counter.count / (counter.last - committed):.0f} events/s through the relay, "
        f"{counter.count / (counter.last - started):.0f} from the call)"
    )


async def bench_paced(nc, pks: list[int], rate: int) -> None:
    from django.db.models import F, Value
    from django.db.models.functions import Concat

    from library.models import Book

    counter = Counter()
    sub = await nc.subscribe("event.library.book.*.change", cb=counter.on)
    await asyncio.sleep(0.3)
    per_tick, tick = max(1, rate // 100), 0.01
    ticks = 300

    def write() -> tuple[int, float, float]:
        written, start = 0, time.perf_counter()
        for n in range(ticks):
            chunk = [pks[(n * per_tick + i) % len(pks)] for i in range(per_tick)]
            written += Book.objects.filter(pk__in=chunk).update(title=Concat(F("title"), Value(".")))
            delay = start + (n + 1) * tick - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        return written, start, time.perf_counter()

    written, start, end = await asyncio.to_thread(write)
    await counter.until(lambda: counter.count >= written, 60)
    await sub.unsubscribe()
    print(
        f"paced {rate} changes/s for {ticks * tick:.0f}s: {written} changes written at "
        f"{written / (end - start):.0f}/s, "
        f"{counter.count} events delivered at {counter.count / (counter.last - start):.0f}/s; the last "
        f"{(counter.last - end) * 1000:.0f} ms after the last commit"
    )


async def run(args: argparse.Namespace, nats_url: str) -> None:
    nc = await nats.connect(nats_url)
    await bench_latency(nc, args.saves, atomic=False)
    await bench_latency(nc, args.saves, atomic=True)
    pks = await bench_bulk(nc, args.rows)
    await bench_update(nc, pks)
    await bench_paced(nc, pks, args.rate)
    await nc.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10000)
    parser.add_argument("--saves", type=int, default=500)
    parser.add_argument("--rate", type=int, default=5000)
    parser.add_argument("--database-url", help="an empty database (default: SQLite in a temporary directory)")
    args = parser.parse_args()
    server = NatsServer()
    relay = None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            url = args.database_url or f"sqlite:///{tmp}/bench.sqlite3"
            setup_django(url, server.url)
            relay = start_relay(url, server.url)
            time.sleep(2)
            print(f"database: {url.split(':')[0]}; relay: resoutbox relay in its own process")
            asyncio.run(run(args, server.url))
    finally:
        if relay is not None:
            relay.stop()
        server.stop()


if __name__ == "__main__":
    main()
