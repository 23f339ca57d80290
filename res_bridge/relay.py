"""The relay: outbox rows become RES events on NATS, in commit order, each sent once.

    relay = Relay(nc)            # a connected nats-py client
    await relay.start()          # on the running loop
    await relay.drain()          # everything committed so far is on NATS
    await relay.stop()

A pass claims the oldest rows (``RELAY_BATCH_SIZE``), turns them into messages (the events the signals
attached, or :class:`res_bridge.events.Captured` for the rest), publishes them, waits until NATS has
them (a message to the relay's own inbox, queued behind them, comes back), and only then deletes the
rows. Several relays may run at once. On PostgreSQL a pass runs in a transaction that ends after the
delete, holding an advisory lock that no other relay's pass may hold meanwhile (a relay that cannot take it
leaves the pass to the one that has it) and locking its rows (``FOR UPDATE SKIP LOCKED``). On SQLite a pass
marks its rows claimed in one statement, and a claim older than :data:`CLAIM_TIMEOUT` (a relay that
died) is taken over.

Nothing twice: before publishing, a pass commits an :class:`~res_bridge.models.OutboxAttempt` for each
row (on PostgreSQL over a second connection, as the rows' lock is held until the delete). A row claimed
with an attempt already there may have been sent, in part or in full, by a relay that died or lost NATS
before its delete: its events are not sent again; a ``system.reset`` of every resource they touch goes
out in their place (:func:`as_reset`), and later rows follow as usual, in order.

The relay wakes on ``NOTIFY res_bridge_outbox`` on PostgreSQL (psycopg's ``notifies()``) and polls
every ``RELAY_POLL_INTERVAL`` on SQLite. After a pass that sent rows it lets commits gather before the
next, :data:`GATHER` per row it sent up to :data:`GATHER_MAX`, unless a :meth:`Relay.drain` or
:meth:`Relay.wake` asks for one: a lone commit waits little, and under a stream of commits each pass sends
more rows for the cost of one.
While NATS is unreachable the rows wait; a failed pass (the database or NATS gone) is logged and retried.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import itertools
import json
import logging
import time
from collections.abc import Collection
from typing import Any

from django.db import connections, transaction
from django.db.models.base import ModelState

from res_protocol import dumps, loads

from .conf import bridge_settings
from .events import Captured, query_subject
from .models import OutboxAttempt, OutboxEntry
from .publisher import Message, reset_message
from .registry import Registry, registry
from .triggers import CHANNEL, OUTBOX

logger = logging.getLogger(__name__)

#: Seconds after which a SQLite claim is taken to belong to a relay that died.
CLAIM_TIMEOUT = 30.0
#: Seconds NATS has to confirm a pass.
CONFIRM_TIMEOUT = 5.0
#: Seconds between passes on PostgreSQL when no notification comes (a safety net).
PG_POLL_INTERVAL = 1.0
#: Seconds after a pass that sent rows before the next, per row it sent: more commits may be under way.
GATHER = 0.002
#: The most a pass waits so: a lone commit's pass waits little, under a stream each pass sends more rows.
GATHER_MAX = 0.01

COLUMNS = "id, tbl, row_key, op, old, new, messages"
ATTEMPTS = OutboxAttempt._meta.db_table

#: PostgreSQL: one relay's pass at a time (a transaction-level advisory lock: a dead relay's goes with its
#: connection). Passes that overlapped could each claim rows between the other's and send them out of order.
PG_PASS_LOCK = "SELECT pg_try_advisory_xact_lock(%s)"
#: The advisory lock's key: "res_bridge" outbox relay.
PG_PASS_LOCK_KEY = 0x7265735F6272

#: PostgreSQL: lock the oldest rows no other relay holds, with the oldest id of all. It also sets what the
#: transaction's delete needs: no marker of lost rows, and no wait for the disk at its commit.
PG_CLAIM = f"""
WITH head AS (SELECT min(id) AS first FROM {OUTBOX}),
relay AS (SELECT set_config('res_bridge.relay', 'on', true), set_config('synchronous_commit', 'off', true))
SELECT {", ".join("o." + c.strip() for c in COLUMNS.split(","))}, head.first
FROM {OUTBOX} o, head, relay ORDER BY o.id LIMIT %s FOR UPDATE OF o SKIP LOCKED
"""

#: PostgreSQL: the rows sent and their attempts, in one statement.
PG_DELETE = f"""
WITH sent AS (DELETE FROM {OUTBOX} WHERE id = ANY(%s)) DELETE FROM {ATTEMPTS} WHERE id = ANY(%s)
"""

SQLITE_WAITING = f"SELECT 1 FROM {OUTBOX} LIMIT 1"

SQLITE_CLAIM = f"""
UPDATE {OUTBOX} SET claimed = %s
WHERE id IN (
    SELECT id FROM {OUTBOX} WHERE claimed IS NULL OR claimed < %s ORDER BY id LIMIT %s
) AND NOT EXISTS (SELECT 1 FROM {OUTBOX} WHERE claimed >= %s)
RETURNING {COLUMNS}
"""


class Relay:
    """Sends the outbox of database ``using`` over ``nc`` (see the module docstring)."""

    def __init__(self, nc: Any, using: str = "default", reg: Registry = registry) -> None:
        self.nc = nc
        self.using = using
        self.registry = reg
        self.sent = 0  # rows sent by this relay
        self._loop: asyncio.AbstractEventLoop | None = None
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._wake = asyncio.Event()
        self._hurry = asyncio.Event()  # a pass is wanted now: no gathering
        self._began = asyncio.Event()  # a pass began after the last wake
        self._passed = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._marks: Any = None  # PostgreSQL: the connection that commits attempts while rows are locked
        self._inbox: Any = None  # the subscription confirmations come back on
        self._confirmations: dict[bytes, asyncio.Future[None]] = {}  # token -> the pass waiting for it
        self._tokens = itertools.count()

    @property
    def vendor(self) -> str:
        return connections[self.using].vendor

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="res-relay")
        self._tasks = [asyncio.ensure_future(self._run())]
        if self.vendor == "postgresql":
            self._tasks.append(asyncio.ensure_future(self._listen()))

    async def stop(self) -> None:
        """Finish the pass under way and stop."""
        self._stopping = True
        self.wake()
        for task in self._tasks[1:]:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._inbox is not None:
            with contextlib.suppress(Exception):  # the connection may be closed or lost
                await self._inbox.unsubscribe()
            self._inbox = None
        if self._executor is not None:
            await self._db(self._close)
            self._executor.shutdown(wait=False)
        self._tasks = []

    def wake(self) -> None:
        """Run a pass now (NATS is back, or rows were committed)."""
        self._wake.set()
        self._hurry.set()

    async def drain(self, timeout: float = CONFIRM_TIMEOUT) -> bool:  # noqa: ASYNC109 - a bound, not a cancel
        """Wait until every row committed before the call has been sent (by any relay).

        False if that took longer than ``timeout`` or the database failed (logged)."""
        try:
            async with asyncio.timeout(timeout):
                last = await self._db(self._last_id)
                while last is not None and await self._db(self._pending, last):
                    self._passed.clear()
                    self.wake()
                    await self._passed.wait()
            return True
        except TimeoutError:
            return False
        except Exception as e:  # noqa: BLE001 - the database failed: the relay retries on its own
            logger.warning("outbox relay: cannot read the outbox (%s); retrying", e)
            await self._db(self._close)
            return False

    # -- the loop -----------------------------------------------------------------------------------

    async def _run(self) -> None:
        interval = PG_POLL_INTERVAL if self.vendor == "postgresql" else bridge_settings.RELAY_POLL_INTERVAL
        failures = 0
        while not self._stopping:
            self._wake.clear()
            self._hurry.clear()
            self._began.set()
            try:
                sent = await self._db(self._pass) if self.nc.is_connected else 0
                failures = 0
            except Exception as e:  # noqa: BLE001 - the database or NATS failed: log, wait, retry
                failures += 1
                sent = 0
                logger.warning("outbox relay: pass failed (%s); retrying", e)
                await self._db(self._close)
            self._passed.set()
            if sent >= bridge_settings.RELAY_BATCH_SIZE:
                continue
            if sent:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._hurry.wait(), min(GATHER * sent, GATHER_MAX))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), min(interval * 2**failures, 5.0))

    async def _listen(self) -> None:
        """Wake the relay on notifications; reconnect when the listening connection fails.

        After a wake it reads no more until the pass it asked for has begun (that pass sends what those
        commits wrote): notifications meanwhile wait in the connection and are read at once, one wake
        per pass rather than one per commit."""
        import psycopg

        params = {
            k: v
            for k, v in connections[self.using].get_connection_params().items()
            if k not in ("cursor_factory", "context", "prepare_threshold", "server_side_binding")
        }
        while not self._stopping:
            try:
                async with await psycopg.AsyncConnection.connect(**params, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    while True:  # the first wake catches up on what was committed before listening
                        self._began.clear()
                        self._wake.set()
                        await self._began.wait()
                        async for _ in conn.notifies(stop_after=1):
                            pass
            except psycopg.Error as e:
                logger.warning("outbox relay: listening for notifications failed (%s); retrying", e)
                await asyncio.sleep(1)

    async def _db(self, func: Any, *args: Any) -> Any:
        return await self._loop.run_in_executor(self._executor, func, *args)  # type: ignore[union-attr]

    # -- on the relay's thread --------------------------------------------------------------------------

    def _close(self) -> None:
        connections[self.using].close()
        if self._marks is not None:
            self._marks.close()

    def _last_id(self) -> int | None:
        return OutboxEntry.objects.using(self.using).order_by("-id").values_list("id", flat=True).first()

    def _pending(self, last: int) -> bool:
        return OutboxEntry.objects.using(self.using).filter(id__lte=last).exists()

    def _pass(self) -> int:
        """Claim, send and delete one batch; return how many rows it held."""
        connection = connections[self.using]
        size = bridge_settings.RELAY_BATCH_SIZE
        if connection.vendor == "postgresql":
            with transaction.atomic(using=self.using), connection.cursor() as cursor:
                cursor.execute(PG_PASS_LOCK, [PG_PASS_LOCK_KEY])
                if not cursor.fetchone()[0]:
                    return 0  # another relay is in a pass
                cursor.execute(PG_CLAIM, [size])
                rows = cursor.fetchall()
                if not rows or rows[0][0] != rows[0][-1]:
                    return 0  # empty, or another relay holds older rows
                ids = [row[0] for row in rows]
                self._send(rows, self._attempt(ids))
                # the delete need not wait for the disk: lost in a crash, the rows go out as resets
                cursor.execute(PG_DELETE, [ids, ids])
            return len(rows)
        now = time.time()
        with connection.cursor() as cursor:
            cursor.execute(SQLITE_WAITING)  # a poll that finds nothing takes no write lock
            if cursor.fetchone() is None:
                return 0
            cursor.execute(SQLITE_CLAIM, [now, now - CLAIM_TIMEOUT, size, now - CLAIM_TIMEOUT])
            rows = sorted(cursor.fetchall())
        if not rows:
            return 0
        ids = ", ".join(str(row[0]) for row in rows)
        tried = self._attempt([row[0] for row in rows])
        try:
            self._send(rows, tried)
        except BaseException:
            with connection.cursor() as cursor:  # free for the next pass, which sends resets for them
                cursor.execute(f"UPDATE {OUTBOX} SET claimed = NULL WHERE id IN ({ids})")
            raise
        with transaction.atomic(using=self.using), connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {OUTBOX} WHERE id IN ({ids})")
            cursor.execute(f"DELETE FROM {ATTEMPTS} WHERE id IN ({ids})")
        return len(rows)

    def _attempt(self, ids: list[int]) -> set[int]:
        """Commit an attempt for each row; return the rows that had one already (maybe sent before)."""
        if connections[self.using].vendor == "postgresql":
            if self._marks is None:
                self._marks = connections.create_connection(self.using)
            connection = self._marks
        else:
            connection = connections[self.using]  # not in a transaction: each statement commits
        values = ", ".join(f"({int(i)})" for i in ids)
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {ATTEMPTS} (id) VALUES {values} ON CONFLICT DO NOTHING RETURNING id")
            return set(ids) - {row[0] for row in cursor.fetchall()}

    def _send(self, rows: list[tuple[Any, ...]], tried: set[int]) -> None:
        if tried:
            logger.warning(
                "outbox relay: %d rows may have been sent before (a relay died or lost NATS): "
                "resetting their resources instead",
                len(tried),
            )
        messages = outgoing([_entry(row) for row in rows], self.registry, tried)
        future = asyncio.run_coroutine_threadsafe(self._publish(messages), self._loop)  # type: ignore[arg-type]
        try:
            future.result(CONFIRM_TIMEOUT + 1)
        except BaseException:
            future.cancel()
            raise
        self.sent += len(rows)

    async def _publish(self, messages: list[tuple[str, bytes]]) -> None:
        if self._inbox is None:
            self._inbox = await self.nc.subscribe(self.nc.new_inbox(), cb=self._confirmed)
        for subject, data in messages:
            await self.nc.publish(subject, data)
        token = str(next(self._tokens)).encode()
        confirmed = self._confirmations[token] = asyncio.get_running_loop().create_future()
        try:
            await self.nc.publish(self._inbox.subject, token)
            await asyncio.wait_for(confirmed, CONFIRM_TIMEOUT)
        finally:
            del self._confirmations[token]

    async def _confirmed(self, msg: Any) -> None:
        """A token back from NATS: what its pass published before it has reached the server."""
        confirmed = self._confirmations.get(msg.data)
        if confirmed is not None and not confirmed.done():
            confirmed.set_result(None)


def outgoing(
    entries: list[OutboxEntry], reg: Registry = registry, tried: Collection[int] = ()
) -> list[Message]:
    """The messages to send for a batch of outbox rows, in order; query events get a fresh subject.

    Each run of rows in ``tried`` (maybe sent before) goes out as :func:`as_reset` of its messages."""
    messages: list[Message] = []
    for again, run in itertools.groupby(entries, lambda entry: entry.id in tried):
        found = _messages(list(run), reg)
        messages += as_reset(found) if again else found
    return [
        (subject, dumps({"subject": query_subject(subject[6:-6])}))
        if subject.startswith("event.") and subject.endswith(".query")
        else (subject, data)
        for subject, data in messages
    ]


def as_reset(messages: list[Message]) -> list[Message]:
    """What to send in place of ``messages`` that may have gone out already: one ``system.reset`` of the
    resources of their events and of the resources and access their resets name (gateways fetch them
    again and send clients the differences), then any token reset as it is (asking again does no harm)."""
    resources: set[str] = set()
    access: set[str] = set()
    rest: list[Message] = []
    for subject, data in messages:
        if subject.startswith("event."):
            resources.add(subject[6:].rsplit(".", 1)[0])
        elif subject == "system.reset":
            body = loads(data)
            resources.update(body.get("resources", ()))
            access.update(body.get("access", ()))
        else:
            rest.append((subject, data))
    return ([reset_message(resources, access)] if resources or access else []) + rest


def _messages(entries: list[OutboxEntry], reg: Registry) -> list[Message]:
    """The events of a run of outbox rows, in order (query events with their stored subject)."""
    captured = Captured(reg)
    messages: list[Message] = []
    for entry in entries:
        if entry.messages is None:
            captured.add(entry)
            continue
        messages += captured.close()
        messages += [(subject, (data or "").encode()) for subject, data in entry.messages]
    messages += captured.close()
    return messages


def _entry(row: tuple[Any, ...]) -> OutboxEntry:
    """An outbox row read with raw SQL (JSON columns may come as text).

    Made as Django makes an unpickled instance, without ``__init__`` and its signals (most of the cost of
    a row): the relay only reads these fields."""
    old, new, messages = (json.loads(v) if isinstance(v, str) else v for v in row[4:7])
    entry = OutboxEntry.__new__(OutboxEntry)
    entry.__dict__.update(
        _state=ModelState(),
        id=row[0],
        table=row[1],
        key=row[2],
        op=row[3],
        old=old,
        new=new,
        messages=messages,
    )
    return entry


def run(nats_url: str | None = None, using: str = "default") -> None:
    """Run a relay alone until SIGINT or SIGTERM (``manage.py resoutbox relay``)."""
    import signal

    import nats

    from .conf import server_urls

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        relay: Relay | None = None

        async def reconnected() -> None:
            if relay is not None:
                relay.wake()

        nc = await nats.connect(
            servers=server_urls(nats_url) if nats_url else bridge_settings.nats_servers,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.5,
            reconnected_cb=reconnected,
            name="res_bridge relay",
        )
        relay = Relay(nc, using)
        await relay.start()
        # Connected: nats-py types connected_url ParseResult | None either way.
        url = nc.connected_url.netloc  # type: ignore[union-attr]
        logger.info("outbox relay sending the outbox of %r on %s", using, url)
        await stop.wait()
        await relay.stop()
        await nc.close()

    asyncio.run(main())
