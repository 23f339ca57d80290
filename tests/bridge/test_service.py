"""The service runtime: system.reset on start and reconnect, routing of access and auth, ordering per
resource, database errors, and the runresservice command."""

from __future__ import annotations

import asyncio
import threading
import uuid

import nats
import pytest
from django.contrib.auth.models import User
from django.db import connection, connections

from res_bridge import ModelResource, call_method
from res_bridge.publisher import round_trip
from res_bridge.registry import Registry
from res_bridge.service import Service
from res_bridge.tokens import token_for
from res_protocol import dumps, errors, loads
from tests.bridge.conftest import Recorder, db
from tests.bridge.testapp.models import Product
from tests.support import NatsServer, free_port, manage

pytestmark = pytest.mark.django_db(transaction=True)

#: What the service serves here: the demo's resources and the test app's.
RESET = ("system.reset", {"resources": ["library.>", "store.>"], "access": ["library.>", "store.>"]})


async def test_reset_on_start(nats_url, record):
    resets = await record("system.reset")
    service = Service(nats_url=nats_url, queue_group=uuid.uuid4().hex)
    await service.start()
    try:
        assert await resets.wait(1) == [RESET]
    finally:
        await service.stop()


async def test_reset_after_reconnect():
    port = free_port()
    server = NatsServer(port=port)
    service = Service(nats_url=server.url, reconnect_wait=2.0)
    await service.start()
    client = None
    try:
        server.stop()
        server = NatsServer(port=port)
        client = await nats.connect(server.url)
        resets = Recorder()
        await client.subscribe("system.reset", cb=resets._on)
        await round_trip(client, 5)
        assert await resets.wait(1) == [RESET]
        reply = await client.request("get.store.products", b"{}", timeout=5)
        assert loads(reply.data) == {"result": {"collection": []}}
    finally:
        if client is not None:
            await client.close()
        await service.stop()
        server.stop()


async def test_requests_for_one_resource_run_in_order(service, nc, record):
    product = await db(Product.objects.create)(name="t", maker="a")
    await service.flush()
    changes = await record(f"event.store.product.{product.pk}.change")
    names = [f"name {i}" for i in range(20)]
    subject = f"call.store.product.{product.pk}.set"
    replies = await asyncio.gather(
        *(nc.request(subject, dumps({"cid": "c", "params": {"name": t}}), timeout=5) for t in names)
    )
    assert [loads(r.data) for r in replies] == [{"result": None}] * 20
    assert [p["values"]["name"] for _, p in await changes.wait(20)] == names


def _superuser() -> User:
    return User.objects.create_superuser("admin", password="secret-password")


async def test_access_requests_ask_the_access_rules(service, ask):
    admin = await db(_superuser)()
    token = token_for(admin)
    assert await ask("access.store.products", {"cid": "c", "token": token}) == {
        "result": {"get": True, "call": "*"}
    }
    assert await ask("access.store.products", {"cid": "c", "token": None}) == {
        "error": {"code": "system.accessDenied", "message": "Access denied"}
    }


async def test_auth_requests_set_the_token_before_replying(service, nc, record):
    admin = await db(_superuser)()
    both = await record(">")
    reply = await nc.request(
        "auth.django.auth.login",
        dumps(
            {"cid": "conn7", "token": None, "params": {"username": "admin", "password": "secret-password"}}
        ),
        timeout=5,
    )
    seen = await both.settle(nc)
    token_at = next(i for i, (s, _) in enumerate(seen) if s == "conn7.token" or s == "conn.conn7.token")
    reply_at = next(i for i, (s, _) in enumerate(seen) if s == reply.subject)
    assert token_at < reply_at
    token_event = seen[token_at][1]
    assert token_event["tid"] == f"user.{admin.pk}"
    assert token_event["token"]["user_id"] == admin.pk
    failed = loads(
        (await nc.request("auth.django.auth.login", dumps({"cid": "c", "params": {}}), timeout=5)).data
    )
    assert failed["error"]["code"] == "system.invalidParams"


class FailingBooks(ModelResource):
    model = Product
    rid = "failing.product.{pk}"
    collection = "failing.products"

    @call_method(detail=False)
    def explode(self, request) -> None:
        Product.objects.create(name="Half", maker="Done")
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM no_such_table")


class TokenBooks(ModelResource):
    model = Product
    rid = "tokens.product.{pk}"
    collection = "tokens.products"

    @call_method(detail=False)
    def slow(self, request) -> str:
        request.timeout(12.5)
        return "done"

    @call_method(detail=False)
    def grant(self, request) -> str:
        request.set_token({"granted": True}, "t1")
        if request.params.get("fail"):
            raise errors.invalid_params("refused")
        return "ok"


class ConnectionBooks(ModelResource):
    model = Product
    rid = "conns.product.{pk}"
    collection = "conns.products"
    wrappers: list = []
    opened: list = []

    @call_method(detail=False)
    def which(self, request) -> None:
        """Note the database connection this call ran a query on."""
        Product.objects.count()
        self.wrappers.append(connections["default"])  # this thread's, not the proxy
        self.opened.append(connection.connection)


async def test_each_thread_keeps_its_database_connection_until_the_service_stops(nats_url, nc):
    registry = Registry()
    registry.register(ConnectionBooks)
    ConnectionBooks.wrappers, ConnectionBooks.opened = [], []
    service = Service(registry, nats_url=nats_url, queue_group=uuid.uuid4().hex, workers=1)
    await service.start()
    try:
        for _ in range(3):
            reply = await nc.request("call.conns.products.which", b"{}", timeout=5)
            assert loads(reply.data) == {"result": None}
        # CONN_MAX_AGE is 0, yet the service's thread did not reconnect
        assert len({id(opened) for opened in ConnectionBooks.opened}) == 1
        assert ConnectionBooks.wrappers[0].connection is not None
    finally:
        await service.stop()
    assert ConnectionBooks.wrappers[0].connection is None  # closed on stop: the database can be dropped


async def test_messages_of_a_failed_request_are_not_sent(nats_url, nc, record):
    registry = Registry()
    registry.register(TokenBooks)
    service = Service(registry, nats_url=nats_url, queue_group=uuid.uuid4().hex)
    await service.start()
    try:
        tokens = await record("conn.>")
        reply = await nc.request(
            "call.tokens.products.grant", dumps({"cid": "c9", "params": {"fail": True}}), timeout=5
        )
        assert loads(reply.data) == {"error": {"code": "system.invalidParams", "message": "refused"}}
        assert await tokens.settle(nc) == []
        reply = await nc.request("call.tokens.products.grant", dumps({"cid": "c9", "params": {}}), timeout=5)
        assert loads(reply.data) == {"result": "ok"}
        assert await tokens.settle(nc) == [("conn.c9.token", {"token": {"granted": True}, "tid": "t1"})]
    finally:
        await service.stop()


async def test_a_handler_extends_the_gateway_timeout(nats_url, nc, record):
    registry = Registry()
    registry.register(TokenBooks)
    service = Service(registry, nats_url=nats_url, queue_group=uuid.uuid4().hex)
    await service.start()
    try:
        replies = await record("reply.slow")
        await nc.publish("call.tokens.products.slow", dumps({"cid": "c"}), reply="reply.slow")
        messages = await replies.wait(2)
        assert messages[0] == ("reply.slow", b'timeout:"12500"')
        assert messages[1] == ("reply.slow", {"result": "done"})
    finally:
        await service.stop()


async def test_a_database_error_rolls_back_and_answers_internal_error(nats_url, nc, record, caplog):
    registry = Registry()
    registry.register(FailingBooks)
    service = Service(registry, nats_url=nats_url, queue_group=uuid.uuid4().hex)
    await service.start()
    try:
        events = await record("event.>")
        reply = loads((await nc.request("call.failing.products.explode", b"{}", timeout=5)).data)
        assert reply == {"error": {"code": "system.internalError", "message": "Internal error"}}
        assert "call request for failing.products failed" in caplog.text
        assert await db(Product.objects.count)() == 0
        await service.flush()
        assert await events.settle(nc) == []
        reply = loads((await nc.request("get.failing.products", b"{}", timeout=5)).data)
        assert reply == {"result": {"collection": []}}
    finally:
        await service.stop()


async def test_runresservice_command(nats_url, record, nc, tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "NATS_URL": nats_url}
    migrate = manage("migrate", "--verbosity=0", env=env)
    assert await asyncio.to_thread(migrate.proc.wait, 60) == 0
    migrate.stop()
    resets = await record("system.reset")
    process = manage("runresservice", env=env)
    try:
        assert await resets.wait(1) == [RESET]
        reply = await nc.request(
            "call.store.products.new", dumps({"params": {"name": "T", "maker": "A"}}), timeout=5
        )
        assert loads(reply.data) == {"resource": {"rid": "store.product.1"}}
        reply = await nc.request("get.store.products", b"", timeout=5)
        assert loads(reply.data) == {"result": {"collection": [{"rid": "store.product.1"}]}}
    finally:
        assert process.stop() == 0


async def test_started_on_the_loop_of_another_thread(nats_url, nc, record):
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    resets = await record("system.reset")
    service = Service(nats_url=nats_url, queue_group=uuid.uuid4().hex)
    try:
        await asyncio.wrap_future(service.start_on(loop))
        assert await resets.wait(1) == [RESET]
        reply = await nc.request("get.store.products", b"", timeout=5)
        assert loads(reply.data) == {"result": {"collection": []}}
    finally:
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(service.stop(), loop))
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()
