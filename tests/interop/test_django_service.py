"""End to end: ResClient, our gateway and the Django service (``runresservice``) on one SQLite file.

The test process and the service process share the database: the module points Django's default
connection at a temporary SQLite file, migrates it, and gives the service the same ``DATABASE_URL``.
A book created through the ORM here reaches ResClient as an add event on ``library.books``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import dj_database_url
import nats
import pytest
from django.core.management import call_command
from django.db import connections
from django.db.utils import load_backend

from library.models import Book
from res_bridge import publisher as publisher_module
from tests.interop.client import NodeResClient
from tests.support import Process, manage


@pytest.fixture(scope="module")
def django_db_setup(django_db_blocker, tmp_path_factory) -> Iterator[str]:
    """The default connection on a fresh, migrated SQLite file for this module; yields its URL."""
    url = f"sqlite:///{Path(tmp_path_factory.mktemp('interop-db')) / 'db.sqlite3'}"
    settings_dict = connections.configure_settings({"default": dj_database_url.parse(url)})["default"]
    original = connections["default"]
    wrapper = load_backend(settings_dict["ENGINE"]).DatabaseWrapper(settings_dict, "default")
    connections["default"] = wrapper
    try:
        with django_db_blocker.unblock():
            call_command("migrate", verbosity=0)
        yield url
    finally:
        wrapper.close()
        connections["default"] = original


@pytest.fixture
def service(django_db_setup: str, nats_url: str) -> Iterator[Process]:
    env = {"DATABASE_URL": django_db_setup, "NATS_URL": nats_url, "PYTHONUNBUFFERED": "1"}
    loaddemo = manage("loaddemo", env=env)
    assert loaddemo.proc.wait(60) == 0, loaddemo.output()
    loaddemo.stop()
    process = manage("runresservice", env=env)
    try:
        asyncio.run(wait_until_serving(nats_url, "get.library.books", process))
        yield process
    finally:
        process.stop()


async def wait_until_serving(nats_url: str, subject: str, process: Process) -> None:
    """Wait (up to 30 s) until a request on ``subject`` gets an answer from the service."""
    nc = await nats.connect(nats_url)
    try:
        for _ in range(300):
            assert process.proc.poll() is None, process.output()
            try:
                await nc.request(subject, b"{}", timeout=0.5)
                return
            except (nats.errors.NoRespondersError, nats.errors.TimeoutError):
                await asyncio.sleep(0.1)
        raise TimeoutError(f"no answer on {subject}:\n{process.output()}")
    finally:
        await nc.close()


@pytest.fixture
def publisher(settings, nats_url: str, monkeypatch) -> Iterator[publisher_module.Publisher]:
    """This process's publisher for the test: a new one, on the test NATS server, closed afterwards."""
    settings.RES_BRIDGE = {**settings.RES_BRIDGE, "NATS_URL": nats_url}
    fresh = publisher_module.Publisher()
    monkeypatch.setattr(publisher_module, "publisher", fresh)
    yield fresh
    fresh.close()


@pytest.mark.django_db(transaction=True)
def test_book_saved_through_the_orm_reaches_resclient(node_modules, gateway, service, publisher):
    loop = asyncio.new_event_loop()
    client = loop.run_until_complete(NodeResClient.start(gateway.ws_url))
    try:
        books = loop.run_until_complete(client.get("library.books"))
        titles = [book["title"] for book in books["value"]]
        assert titles == list(Book.objects.order_by("id").values_list("title", flat=True))

        book = Book.objects.create(title="The Left Hand of Darkness", author="Ursula K. Le Guin")
        assert publisher.flush(5)

        added = loop.run_until_complete(client.next_event(event="add", rid="library.books"))
        assert added["idx"] == len(titles)
        assert added["item"]["rid"] == f"library.book.{book.pk}"
        assert added["item"]["value"]["title"] == "The Left Hand of Darkness"
    finally:
        loop.run_until_complete(client.close())
        loop.close()
