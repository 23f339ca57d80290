"""Change capture: whatever writes a served table, its committed changes reach NATS, once, in order.

Runs on SQLite and on PostgreSQL (``DATABASE_URL``); the writes come from the ORM's bulk paths, raw SQL
on a connection of another library, a process that dies right after its commit, and the relay is
tested against a NATS outage, a lost database connection, rows deleted behind its back and company.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import sqlite3
import time
import uuid

import nats
import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection, connections, transaction

from library.models import Book, Loan, Shelf
from res_bridge import relay as relay_module
from res_bridge.checks import check_capture
from res_bridge.models import OutboxAttempt, OutboxEntry
from res_bridge.publisher import round_trip
from res_bridge.relay import Relay, outgoing
from res_bridge.service import Service
from res_protocol import dumps, loads
from tests.bridge.conftest import Recorder, db
from tests.support import NatsProxy, NatsServer, free_port, manage

pytestmark = pytest.mark.django_db(transaction=True)

EVERYTHING = ["library.>", "store.>"]


def ref(model: str, pk: int) -> dict:
    return {"rid": f"library.{model}.{pk}"}


def plain(messages: list) -> list:
    """Without query events (their subjects are fresh each time)."""
    return [m for m in messages if not m[0].endswith(".query")]


def reset_names(messages: list) -> set[str]:
    """The resources of every ``system.reset`` (the relay may split a run of rows over passes)."""
    return {name for subject, body in messages if subject == "system.reset" for name in body["resources"]}


def database_url() -> str:
    """The test database, for another process."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    password = f":{settings['PASSWORD']}" if settings["PASSWORD"] else ""
    return f"postgres://{settings['USER']}{password}@{settings['HOST']}:{settings['PORT']}/{settings['NAME']}"


def raw_sql(*statements: tuple[str, list]) -> None:
    """Run statements in one transaction on a connection Django knows nothing of."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        other = sqlite3.connect(settings["NAME"], timeout=20)
        with other:
            for sql, params in statements:
                other.execute(sql.replace("%s", "?"), params)
        other.close()
        return
    import psycopg

    with psycopg.connect(database_url()) as other:
        for sql, params in statements:
            other.execute(sql, params)


@pytest.fixture
async def events(service, record):
    return await record("event.>")


@pytest.fixture
async def resets(service, record):
    return await record("system.reset")


async def settle(service: Service, recorder: Recorder, nc) -> list:
    await service.flush()
    return await recorder.settle(nc)


def _books(count: int, author: str = "A") -> list[int]:
    return [Book.objects.create(title=f"Book {i}", author=author).pk for i in range(count)]


async def _fresh(service, nc, *recorders: Recorder) -> None:
    """Send what is waiting, then forget it."""
    await service.flush()
    for recorder in recorders:
        await recorder.settle(nc)
        recorder.clear()


# -- writes the signals miss ------------------------------------------------------------------------


async def test_update_sends_a_change_event_per_row(service, events, resets, nc):
    pks = await db(_books)(5)
    await _fresh(service, nc, events, resets)
    assert await db(Book.objects.filter(author="A").update)(author="B") == 5
    assert plain(await settle(service, events, nc)) == [
        (f"event.library.book.{pk}.change", {"values": {"author": "B"}}) for pk in pks
    ]
    assert {s for s, _ in events.messages if s.endswith(".query")} == {"event.library.books.query"}
    assert resets.messages == []  # the order of library.books did not change


async def test_update_moving_rows_between_collections_resets_both(service, events, resets, nc):
    def loans() -> tuple[int, int, list[int]]:
        user = User.objects.create_user("reader")
        first, second = Book.objects.create(title="A", author="X"), Book.objects.create(title="B", author="Y")
        due = datetime.date(2030, 1, 1)
        return first.pk, second.pk, [Loan.objects.create(book=first, borrower=user, due=due).pk for _ in "ab"]

    first, second, pks = await db(loans)()
    await _fresh(service, nc, events, resets)
    await db(Loan.objects.filter(book_id=first).update)(book_id=second)
    assert plain(await settle(service, events, nc)) == [
        (f"event.library.loan.{pk}.change", {"values": {"book": ref("book", second)}}) for pk in pks
    ]
    assert reset_names(await resets.settle(nc)) == {
        f"library.book.{first}.loans",
        f"library.book.{second}.loans",
    }


async def test_bulk_create_resets_the_collection_that_gains_rows(service, events, resets, nc):
    await db(Book.objects.bulk_create)([Book(title=f"T{i}", author="X") for i in range(200)])
    assert plain(await settle(service, events, nc)) == []
    assert {s for s, _ in events.messages} == {"event.library.books.query"}
    assert reset_names(await resets.settle(nc)) == {"library.books"}


async def test_raw_sql_from_another_connection(service, events, resets, nc):
    def shelf_and_book() -> tuple[int, int]:
        owner = User.objects.create_user("owner")
        return Shelf.objects.create(name="Mine", owner=owner).pk, Book.objects.create(
            title="Old", author="X"
        ).pk

    shelf, book = await db(shelf_and_book)()
    await _fresh(service, nc, events, resets)
    await asyncio.to_thread(
        raw_sql,
        ("UPDATE library_book SET title = %s WHERE id = %s", ["Raw", book]),
        ("INSERT INTO library_shelf_books (shelf_id, book_id) VALUES (%s, %s)", [shelf, book]),
    )
    assert plain(await settle(service, events, nc)) == [
        (f"event.library.book.{book}.change", {"values": {"title": "Raw"}})
    ]
    assert reset_names(await resets.settle(nc)) == {f"library.shelf.{shelf}.books"}
    events.clear()
    resets.clear()
    await asyncio.to_thread(
        raw_sql,
        ("DELETE FROM library_shelf_books WHERE book_id = %s", [book]),
        ("DELETE FROM library_book WHERE id = %s", [book]),
    )
    assert plain(await settle(service, events, nc)) == [
        (f"event.library.book.{book}.loans.delete", None),
        (f"event.library.book.{book}.delete", None),
    ]
    assert reset_names(await resets.settle(nc)) == {"library.books", f"library.shelf.{shelf}.books"}


async def test_emptying_a_table_resets_its_resources(service, resets, nc):
    await db(_books)(3)
    await _fresh(service, nc, resets)
    statement = (
        "TRUNCATE library_book CASCADE" if connection.vendor == "postgresql" else "DELETE FROM library_book"
    )
    await asyncio.to_thread(raw_sql, (statement, []))
    assert "library.books" in reset_names(await settle(service, resets, nc))


# -- the normal path ----------------------------------------------------------------------------------


async def test_exactly_one_event_per_plain_save(service, events, resets, nc):
    book = await db(Book.objects.create)(title="v0", author="X")
    await _fresh(service, nc, events, resets)
    for i in range(1, 31):
        book.title = f"v{i}"
        await db(book.save)()
    assert plain(await settle(service, events, nc)) == [
        (f"event.library.book.{book.pk}.change", {"values": {"title": f"v{i}"}}) for i in range(1, 31)
    ]
    queries = [s for s, _ in events.messages if s.endswith(".query")]
    assert set(queries) == {"event.library.books.query"} and len(queries) <= 30  # one per pass of the relay
    assert resets.messages == []
    assert await db(OutboxAttempt.objects.count)() == 0  # each attempt went with its row


async def test_a_process_killed_right_after_its_commit_loses_nothing(service, events, nc, nats_url):
    script = (
        "import os\n"
        "from django.db import transaction\n"
        "from library.models import Book\n"
        "with transaction.atomic():\n"
        "    book = Book.objects.create(title='Last words', author='Ghost')\n"
        "    Book.objects.filter(pk=book.pk).update(author='Gone')\n"
        "os._exit(0)\n"
    )
    process = manage("shell", "-c", script, env={"DATABASE_URL": database_url(), "NATS_URL": nats_url})
    try:
        assert await asyncio.to_thread(process.proc.wait, 60) == 0, process.output()
    finally:
        process.stop()
    pk = await db(lambda: Book.objects.get(title="Last words").pk)()
    assert plain(await settle(service, events, nc)) == [
        ("event.library.books.add", {"value": ref("book", pk), "idx": 0}),
        (f"event.library.book.{pk}.change", {"values": {"author": "Gone"}}),
    ]


# -- nothing twice: rows that may have gone out go out as resets --------------------------------------


@pytest.fixture
async def proxy(nats_url):
    proxy = NatsProxy(int(nats_url.rsplit(":", 1)[1]))
    yield proxy
    await proxy.stop()


@pytest.fixture
async def everything(nc):
    """Events and resets, in the order NATS delivered them (query events with their payload dropped)."""
    recorder = Recorder()
    for subject in ("event.>", "system.reset"):
        await nc.subscribe(subject, cb=recorder._on)
    await round_trip(nc, 5)
    return recorder


def shown(messages: list) -> list:
    return [(s, None) if s.endswith(".query") else (s, body) for s, body in messages]


def _book_saved_twice() -> tuple[int, list]:
    """A new book, then a new title, in one transaction (one pass): the events the relay sends for them."""
    with transaction.atomic():
        book = Book.objects.create(title="v0", author="X")
        book.title = "v1"
        book.save()
    return book.pk, [
        ("event.library.books.add", {"value": ref("book", book.pk), "idx": 0}),
        ("event.library.books.query", None),
        (f"event.library.book.{book.pk}.change", {"values": {"title": "v1"}}),
        ("event.library.books.query", None),
    ]


async def test_rows_of_a_relay_killed_before_its_delete_go_out_as_resets(nc, proxy, everything, monkeypatch):
    monkeypatch.setattr(relay_module, "CLAIM_TIMEOUT", 1.0)  # the dead relay's claim (SQLite) is stale soon
    url = await proxy.start()
    env = {"DATABASE_URL": database_url(), "LOG_LEVEL": "INFO"}  # it says when it is up
    process = manage("resoutbox", "relay", "--nats", url, env=env)
    relay = None
    try:
        deadline = time.monotonic() + 30
        while "outbox relay sending the outbox" not in process.output():
            assert process.proc.poll() is None and time.monotonic() < deadline, process.output()
            await asyncio.sleep(0.05)
        proxy.hold()  # the relay publishes, and waits for NATS to confirm: killed, it never deletes
        pk, sent = await db(_book_saved_twice)()
        assert shown(await everything.wait(len(sent))) == sent
        await asyncio.to_thread(process.kill)
        assert await db(OutboxEntry.objects.count)() == 2
        assert await db(OutboxAttempt.objects.count)() == 2

        def later() -> None:
            Book.objects.filter(pk=pk).update(author="Y")

        await db(later)()
        relay = Relay(nc)
        await relay.start()
        assert await relay.drain()
        assert shown(await everything.settle(nc)) == [
            *sent,
            ("system.reset", {"resources": [f"library.book.{pk}", "library.books"]}),
            (f"event.library.book.{pk}.change", {"values": {"author": "Y"}}),
            ("event.library.books.query", None),
        ]
        assert await db(OutboxEntry.objects.count)() == await db(OutboxAttempt.objects.count)() == 0
    finally:
        process.kill()
        process.stop()
        if relay is not None:
            await relay.stop()


async def test_nats_lost_before_the_confirmation_sends_resets_not_the_events_again(
    nc, proxy, everything, monkeypatch
):
    monkeypatch.setattr(relay_module, "CONFIRM_TIMEOUT", 1.0)
    client = await nats.connect(await proxy.start(), reconnect_time_wait=0.1, max_reconnect_attempts=-1)
    relay = Relay(client)
    await relay.start()
    try:
        proxy.hold()
        pk, sent = await db(_book_saved_twice)()
        assert shown(await everything.wait(len(sent))) == sent  # published, never confirmed
        proxy.cut()
        deadline = time.monotonic() + 30
        while await db(OutboxEntry.objects.count)():
            assert time.monotonic() < deadline
            await relay.drain()
        assert shown(await everything.settle(nc)) == [
            *sent,
            ("system.reset", {"resources": [f"library.book.{pk}", "library.books"]}),
        ]
        assert await db(OutboxAttempt.objects.count)() == 0
    finally:
        await relay.stop()
        await client.close()


def test_each_run_of_rows_that_may_have_gone_out_becomes_one_reset_in_order():
    def row(id: int, *messages: tuple[str, dict]) -> OutboxEntry:
        stored = [[subject, dumps(body).decode()] for subject, body in messages]
        return OutboxEntry(id=id, op=OutboxEntry.MESSAGES, messages=stored)

    token = ("system.tokenReset", {"tids": ["user.1"], "subject": "auth.refresh"})
    entries = [
        row(1, ("event.library.book.1.change", {"values": {"title": "a"}})),
        row(2, ("system.reset", {"resources": ["library.books"], "access": ["library.>"]}), token),
        row(3, ("event.library.books.add", {"value": ref("book", 2), "idx": 0})),
        OutboxEntry(
            id=4,
            op="U",
            table="library_book",
            key="5",
            old={"id": 5, "title": "a"},
            new={"id": 5, "title": "b"},
        ),
    ]
    sent = [(subject, loads(data) if data else None) for subject, data in outgoing(entries, tried={1, 2, 4})]
    assert shown(sent) == [
        ("system.reset", {"resources": ["library.book.1", "library.books"], "access": ["library.>"]}),
        token,
        ("event.library.books.add", {"value": ref("book", 2), "idx": 0}),
        ("system.reset", {"resources": ["library.book.5", "library.books"]}),
    ]


# -- bad input and failures ---------------------------------------------------------------------------


async def test_a_nats_outage_during_writes_delays_the_events_in_order():
    server = NatsServer(port=free_port())
    service = Service(nats_url=server.url, queue_group=uuid.uuid4().hex, reconnect_wait=2.0)
    await service.start()
    client = None
    try:
        book = await db(Book.objects.create)(title="v0", author="X")
        await service.flush()
        server.stop()
        for _ in range(250):
            if not service.nc.is_connected:
                break
            await asyncio.sleep(0.02)
        for i in range(1, 51):
            book.title = f"v{i}"
            await db(book.save)()
        await asyncio.sleep(0.3)
        assert await db(OutboxEntry.objects.count)() == 50  # waiting for NATS
        server = NatsServer(port=server.port)
        client = await nats.connect(server.url)
        changes = Recorder()
        await client.subscribe("event.library.book.*.change", cb=changes._on)
        await round_trip(client, 5)
        assert await changes.wait(50) == [
            (f"event.library.book.{book.pk}.change", {"values": {"title": f"v{i}"}}) for i in range(1, 51)
        ]
        assert await changes.settle(client) == changes.messages[:50]  # and nothing twice
        assert await db(OutboxEntry.objects.count)() == 0
    finally:
        await service.stop()
        if client is not None:
            await client.close()
        server.stop()


def save_titles(book: Book, first: int, last: int) -> None:
    """Save ``book`` once per title, ``v<first>`` to ``v<last>``."""
    for i in range(first, last + 1):
        book.title = f"v{i}"
        book.save()


async def test_several_relays_send_each_row_once_in_order(nats_url, nc, record, settings):
    settings.RES_BRIDGE = {**settings.RES_BRIDGE, "RELAY_BATCH_SIZE": 5}  # many passes, contended
    changes = await record("event.library.book.*.change")
    book = await db(Book.objects.create)(title="v0", author="X")

    await db(save_titles)(book, 1, 100)  # a backlog, then relays all at once, while more is written
    clients = [await nats.connect(nats_url) for _ in range(3)]
    relays = [Relay(client) for client in clients]
    try:
        await asyncio.gather(*(relay.start() for relay in relays))
        await db(save_titles)(book, 101, 150)
        assert await changes.wait(150) == [
            (f"event.library.book.{book.pk}.change", {"values": {"title": f"v{i}"}}) for i in range(1, 151)
        ]
        assert all([await relay.drain() for relay in relays])
        assert len(await changes.settle(nc)) == 150
        assert sum(relay.sent for relay in relays) == 151  # the create, and each save, sent by one relay
    finally:
        for relay in relays:
            await relay.stop()
        for client in clients:
            await client.close()


async def test_commits_wake_the_relay_without_its_poll(nc, record, monkeypatch):
    """On PostgreSQL commits notify the relay, also those made while a pass or its gathering is under way
    (their notifications are read when the next pass begins); SQLite's relay polls."""
    if connection.vendor == "postgresql":
        monkeypatch.setattr(relay_module, "PG_POLL_INTERVAL", 600.0)
    changes = await record("event.library.book.*.change")
    book = await db(Book.objects.create)(title="v0", author="X")

    relay = Relay(nc)
    await relay.start()
    try:
        for burst in range(3):
            await db(save_titles)(book, burst * 20 + 1, burst * 20 + 20)
            assert await changes.wait((burst + 1) * 20) == [
                (f"event.library.book.{book.pk}.change", {"values": {"title": f"v{i}"}})
                for i in range(1, (burst + 1) * 20 + 1)
            ]
    finally:
        await relay.stop()


async def test_a_drain_cuts_short_the_wait_for_more_commits(nc, record, monkeypatch):
    """After a pass that sent rows the relay lets commits gather; a caller waiting in drain does not wait
    for that (a call's reply waits for its events)."""
    monkeypatch.setattr(relay_module, "GATHER", 60.0)
    monkeypatch.setattr(relay_module, "GATHER_MAX", 60.0)
    changes = await record("event.library.book.*.change")
    book = await db(Book.objects.create)(title="v0", author="X")
    relay = Relay(nc)
    await relay.start()
    try:
        assert await relay.drain()  # the create went out: the relay now gathers for a minute
        await db(Book.objects.filter(pk=book.pk).update)(title="v1")
        assert await relay.drain(timeout=10)
        assert await changes.wait(1) == [
            (f"event.library.book.{book.pk}.change", {"values": {"title": "v1"}})
        ]
    finally:
        await relay.stop()


async def test_the_wait_for_more_commits_grows_with_the_rows_a_pass_sent(nc, record, monkeypatch):
    """After a pass the relay lets commits gather ``GATHER`` per row it sent, at most ``GATHER_MAX``: a lone
    commit's pass waits little, a pass in a stream of commits waits longer and the next sends more."""
    monkeypatch.setattr(relay_module, "GATHER", 1.0)
    monkeypatch.setattr(relay_module, "GATHER_MAX", 2.0)
    if connection.vendor == "postgresql":
        monkeypatch.setattr(relay_module, "PG_POLL_INTERVAL", 600.0)
    changes = await record("event.library.book.*.change")
    books = await db(Book.objects.bulk_create)([Book(title=f"T{i}", author="X") for i in range(3)])
    relay = Relay(nc)
    await relay.start()
    try:
        assert await relay.drain()  # one pass sent the three rows: it now waits min(3 x 1.0, 2.0) s
        assert relay.sent == 3
        began = time.monotonic()
        await db(Book.objects.filter(pk=books[0].pk).update)(title="later")
        assert await changes.wait(1) == [
            (f"event.library.book.{books[0].pk}.change", {"values": {"title": "later"}})
        ]
        assert 1.6 < time.monotonic() - began < 2.9
    finally:
        await relay.stop()


async def test_an_outbox_row_of_an_unregistered_table_resets_everything(service, resets, nc, caplog):
    await _fresh(service, nc, resets)
    with caplog.at_level(logging.WARNING, logger="res_bridge.events"):
        await db(OutboxEntry.objects.create)(op="U", table="shop_order", key="1", old={}, new={})
        assert await settle(service, resets, nc) == [("system.reset", {"resources": EVERYTHING})]
    assert "'shop_order', which no registered resource serves" in caplog.text


async def test_a_row_that_cannot_be_read_resets_its_resources(service, resets, nc, caplog):
    await _fresh(service, nc, resets)
    with caplog.at_level(logging.ERROR, logger="res_bridge.events"):
        await db(OutboxEntry.objects.create)(op="U", table="library_book", key="x", old={"id": "x"}, new={})
        found = await settle(service, resets, nc)
    shown = [f"library.{name}" for name in ("book.*", "book.*.loans", "books", "shelf.*.books")]
    assert found == [("system.reset", {"resources": shown})]  # every resource that shows books
    assert "cannot compute events for U library_book x" in caplog.text


@pytest.mark.parametrize("statement", ["DELETE FROM res_bridge_outbox", "TRUNCATE res_bridge_outbox"])
async def test_rows_deleted_behind_the_relays_back_reset_everything(nats_url, record, nc, caplog, statement):
    if statement.startswith("TRUNCATE") and connection.vendor != "postgresql":
        statement = "DELETE FROM res_bridge_outbox WHERE 1 = 1"  # SQLite has no TRUNCATE
    found = await record("system.reset")
    await db(_books)(3)  # no relay runs: the rows wait
    await asyncio.to_thread(raw_sql, (statement, []))
    assert await db(lambda: list(OutboxEntry.objects.values_list("op", flat=True)))() == ["L"]
    service = Service(nats_url=nats_url, queue_group=uuid.uuid4().hex)
    with caplog.at_level(logging.ERROR, logger="res_bridge.events"):
        await service.start()
    try:
        assert (await found.wait(2))[0] == ("system.reset", {"resources": EVERYTHING, "access": EVERYTHING})
    finally:
        await service.stop()
    assert "outbox rows were deleted before a relay sent them" in caplog.text


async def test_the_relay_survives_losing_its_database(service, events, nc, ask, caplog):
    if connection.vendor == "postgresql":

        def lose() -> None:
            with connections["default"].cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )

        await db(lose)()
    else:
        await service.relay._db(lambda: connections["default"].connection.close())
    with caplog.at_level(logging.WARNING, logger="res_bridge.relay"):
        book = await db(Book.objects.create)(title="After", author="X")
        await service.flush()
        found = await events.wait(2)
    assert found[0] == ("event.library.books.add", {"value": ref("book", book.pk), "idx": 0})
    assert "outbox relay:" in caplog.text and "retrying" in caplog.text
    assert (await ask(f"get.library.book.{book.pk}"))["result"]["model"]["title"] == "After"


# -- triggers kept in step ------------------------------------------------------------------------------


def test_the_system_check_finds_missing_and_stale_triggers():
    assert check_capture() == []
    from res_bridge import triggers

    missing = triggers.expected(connection)[0]
    with connection.cursor() as cursor:
        on = f" ON {missing.table}" if connection.vendor == "postgresql" else ""
        cursor.execute(f"DROP TRIGGER {missing.name}{on}")
        if connection.vendor == "postgresql":
            body = "FOR EACH ROW EXECUTE FUNCTION res_bridge_outbox_notify()"
        else:
            body = "BEGIN SELECT 1; END"
        cursor.execute(f"CREATE TRIGGER res_bridge_old_0000 AFTER INSERT ON library_book {body}")
    [warning] = check_capture()
    assert warning.id == "res_bridge.W010"
    assert "missing (1) or stale (1) on library_book" in warning.msg
    call_command("resoutbox", "sync", verbosity=0)
    assert check_capture() == []
