"""res_bridge benchmark: get requests per second answered from the database, and events per second
published from ORM saves.

Starts its own nats-server (from the wheel) and runs once on a fresh SQLite database in a temporary
directory, once on a fresh PostgreSQL database created on ``--postgres`` (a server URL; skipped with a
note when it cannot be reached) and dropped afterwards; ``--database-url`` runs on that one database
only, which must be empty: it is migrated and filled. Each database runs in a process of its own:

1. ``manage.py runresservice`` runs with its default flags; from this process, ``--concurrency`` NATS
   clients send ``--requests`` get requests for random ``library.book.<id>`` models and for
   ``library.books`` query pages. Every request reaches the database (there is no cache in the service):
   requests/s and p50/p99 latency.
2. the service stops; ``--saves`` book saves (a changed title each) run in a worker thread, as in a
   web process, and a NATS client counts the change events an outbox relay in a process of its own
   (``manage.py resoutbox relay``) delivers: saves/s in the caller, and events/s from the first save
   to the last event received. Once with each save committed on its own (bound by the database's
   commits), once in one transaction (the events all go out after its commit);
3. the same saves with change capture off (``resoutbox drop``, then ``sync``) and no relay at work: saves/s
   in the caller alone, the most that events/s from one committing caller can reach.

Django runs as in production (``DEBUG`` off), so no query is logged.

The load generator shares the machine's cores with the service: the figures are a floor. As requests/s
and events/s swing with whatever else the machine runs, each line also gives CPU milliseconds per request
or per event: of this process (the load generator for gets, the saving caller and the counting client for
events), of the service or the relay, and of the database's server processes serving this database
(PostgreSQL only; SQLite works inside the processes).

Run: ``.venv/bin/python bench/bridge.py [--books 1000] [--requests 5000] [--concurrency 20] [--saves 2000]
[--postgres postgres://postgres@127.0.0.1:5432]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nats

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.processes import cpu_seconds, start_relay  # noqa: E402
from tests.support import NatsServer, Process, manage  # noqa: E402


def setup_django(database_url: str, nats_url: str) -> None:
    os.environ.update(
        {
            "DATABASE_URL": database_url,
            "NATS_URL": nats_url,
            "LOG_LEVEL": "WARNING",
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": "bench-only-" + "x" * 40,
        },
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "resproject.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def make_books(count: int) -> list[int]:
    from library.models import Book

    Book.objects.bulk_create(Book(title=f"Book {i}", author=f"Author {i % 50}") for i in range(count))
    return list(Book.objects.values_list("pk", flat=True))


class Cpu:
    """CPU seconds used from :meth:`start` by this process, the named child processes (``relay=pid``) and
    this database's server processes."""

    def __init__(self, **children: int) -> None:
        self.children = children
        self.before: dict[str, float] = {}
        self.backends: dict[int, float] = {}

    def start(self) -> None:
        self.before = {"this": time.process_time()}
        self.before.update({name: cpu_seconds([pid]) for name, pid in self.children.items()})
        self.backends = self._backends()

    def per(self, count: int) -> str:
        """CPU ms per operation since :meth:`start`, for ``count`` operations."""
        used = {"this": time.process_time() - self.before["this"]}
        used.update({name: cpu_seconds([pid]) - self.before[name] for name, pid in self.children.items()})
        if self.backends or connection_vendor() == "postgresql":
            used["database"] = sum(cpu - self.backends.get(pid, 0.0) for pid, cpu in self._backends().items())
        parts = ", ".join(f"{name} {seconds / count * 1000:.3f}" for name, seconds in used.items())
        return f"CPU ms each: {parts}"

    @staticmethod
    def _backends() -> dict[int, float]:
        """CPU seconds of every server process connected to this database (PostgreSQL)."""
        from django.db import connection

        if connection.vendor != "postgresql":
            return {}
        with connection.cursor() as cursor:
            cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
            pids = [pid for (pid,) in cursor.fetchall()]
        found = {}
        for pid in pids:
            with contextlib.suppress(OSError):  # ended meanwhile
                found[pid] = cpu_seconds([pid])
        return found


def connection_vendor() -> str:
    from django.db import connection

    return connection.vendor


async def start_service(nats_url: str, pk: int) -> Process:
    """Start ``manage.py runresservice`` (default flags) and wait until it answers a get request."""
    service = manage("runresservice", "--nats", nats_url, name="service")
    nc = await nats.connect(nats_url)
    try:
        for _ in range(300):
            with contextlib.suppress(nats.errors.Error):
                await nc.request(f"get.library.book.{pk}", b"", timeout=0.1)
                return service
            if service.proc.poll() is not None:
                break
            await asyncio.sleep(0.1)
    finally:
        await nc.close()
    service.stop()
    raise RuntimeError(f"the service did not start:\n{service.output()}")


async def bench_gets(nats_url: str, pks: list[int], requests: int, concurrency: int) -> None:
    from res_protocol import dumps, loads

    service = await start_service(nats_url, pks[0])
    clients = [await nats.connect(nats_url) for _ in range(concurrency)]
    latencies: list[float] = []
    errors = 0
    remaining = requests

    async def worker(nc) -> None:
        nonlocal remaining, errors
        while remaining > 0:
            remaining -= 1
            if remaining % 5:
                subject, payload = f"get.library.book.{random.choice(pks)}", b""
            else:
                page = random.randrange(max(1, len(pks) // 50))
                subject, payload = "get.library.books", dumps({"query": f"limit=50&offset={page * 50}"})
            start = time.perf_counter()
            reply = loads((await nc.request(subject, payload, timeout=10)).data)
            latencies.append(time.perf_counter() - start)
            errors += "error" in reply

    cpu = Cpu(service=service.pid)
    await asyncio.to_thread(cpu.start)
    began = time.perf_counter()
    await asyncio.gather(*(worker(nc) for nc in clients))
    elapsed = time.perf_counter() - began
    used = await asyncio.to_thread(cpu.per, len(latencies))
    for nc in clients:
        await nc.close()
    service.stop()
    latencies.sort()
    print(
        f"get: {len(latencies)} requests (4/5 models, 1/5 query pages of 50) in {elapsed:.2f}s, "
        f"concurrency {concurrency}: {len(latencies) / elapsed:.0f} requests/s, "
        f"p50 {statistics.median(latencies) * 1000:.1f} ms, "
        f"p99 {latencies[int(len(latencies) * 0.99)] * 1000:.1f} ms, "
        f"{errors} errors; {used}"
    )


def save_all(pks: list[int], saves: int, atomic: bool, label: str = "") -> float:
    """Save ``saves`` book titles (each committed, or all in one transaction); the seconds it took."""
    from django.db import transaction

    from library.models import Book

    loaded = list(Book.objects.filter(pk__in=pks[:100]))
    start = time.perf_counter()
    with transaction.atomic() if atomic else contextlib.nullcontext():
        for i in range(saves):
            book = loaded[i % len(loaded)]
            book.title = f"Edition {i} {atomic}{label}"
            book.save(update_fields=["title"])
    return time.perf_counter() - start


def bench_capture_off(pks: list[int], saves: int) -> None:
    """Saves/s in the caller with no trigger and no outbox: the bound for events/s from one caller."""
    from django.db import connection

    from res_bridge import triggers

    cpu = Cpu()
    triggers.drop(connection)
    try:
        cpu.start()
        caller = save_all(pks, saves, atomic=False, label=" off")
        used = cpu.per(saves)
    finally:
        triggers.sync(connection)
    print(
        f"saves with change capture off (each committed, no relay at work): {saves} in {caller:.2f}s "
        f"({saves / caller:.0f} saves/s in the caller, the bound for events/s above); {used}"
    )


async def bench_saves(nats_url: str, pks: list[int], saves: int, atomic: bool, relay: int) -> None:
    from res_bridge.publisher import round_trip

    nc = await nats.connect(nats_url)
    received = 0
    done = asyncio.Event()

    async def on_change(msg) -> None:
        nonlocal received
        received += 1
        if received == saves:
            done.set()

    await nc.subscribe("event.library.book.*.change", cb=on_change)
    await round_trip(nc, 5)

    cpu = Cpu(relay=relay)
    await asyncio.to_thread(cpu.start)
    began = time.perf_counter()
    caller = await asyncio.to_thread(save_all, pks, saves, atomic)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done.wait(), 60)
    elapsed = time.perf_counter() - began
    used = await asyncio.to_thread(cpu.per, saves)
    await nc.close()
    how = "in one transaction" if atomic else "each committed"
    print(
        f"events ({how}): {saves} saves in {caller:.2f}s ({saves / caller:.0f} saves/s in the caller); "
        f"{received} change events received in {elapsed:.2f}s ({received / elapsed:.0f} events/s); {used}"
    )


async def run(args: argparse.Namespace, database_url: str, nats_url: str) -> None:
    print(f"database: {database_url.split(':')[0]}")
    pks = await asyncio.to_thread(make_books, args.books)
    await bench_gets(nats_url, pks, args.requests, args.concurrency)
    relay = start_relay(database_url, nats_url)
    try:
        await bench_saves(nats_url, pks, args.saves, atomic=False, relay=relay.pid)
        await bench_saves(nats_url, pks, args.saves, atomic=True, relay=relay.pid)
    finally:
        relay.stop()
    await asyncio.to_thread(bench_capture_off, pks, args.saves)


def on_each_database(args: argparse.Namespace) -> None:
    """Run this script on a fresh SQLite database, then on a fresh PostgreSQL one, each in a child."""
    import psycopg

    sizes = [f"--{name}={getattr(args, name)}" for name in ("books", "requests", "concurrency", "saves")]
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, __file__, *sizes, f"--database-url=sqlite:///{tmp}/bench.sqlite3"])
    name = f"res_bench_bridge_{os.getpid()}"
    try:
        admin = psycopg.connect(f"{args.postgres}/postgres", autocommit=True, connect_timeout=5)
    except psycopg.Error as e:
        print(f"database: postgresql skipped, {args.postgres} is unreachable ({e})")
        return
    with admin:
        admin.execute(f"CREATE DATABASE {name}")
        try:
            subprocess.run([sys.executable, __file__, *sizes, f"--database-url={args.postgres}/{name}"])
        finally:
            admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--books", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--saves", type=int, default=2000)
    parser.add_argument("--database-url", help="only this database, which must be empty")
    parser.add_argument(
        "--postgres",
        default="postgres://postgres@127.0.0.1:5432",
        help="the PostgreSQL server to create a database on (default: %(default)s)",
    )
    args = parser.parse_args()
    if not args.database_url:
        on_each_database(args)
        return
    server = NatsServer()
    try:
        setup_django(args.database_url, server.url)
        asyncio.run(run(args, args.database_url, server.url))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
