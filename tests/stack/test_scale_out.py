"""The scaled-out topology without Docker: a three-node NATS cluster, Postgres, Redis, two gateways and two
services on different nodes. Each gateway's client sees the other's changes exactly once, and losing a NATS
node that no client's gateway uses keeps the stack serving and consistent.

    node 1: gateway A        node 2: gateway B, service A        node 3: service B
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.harness import Client
from tests.support import ROOT, NatsServer, Process, free_port, manage, require, wait_for_port

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

POSTGRES = "postgres://postgres@127.0.0.1:5432/postgres"
REDIS = ("127.0.0.1", 6379)
QUIET = 0.5  # seconds a duplicate event would have to arrive in


def postgres_answers() -> bool:
    import psycopg

    try:
        psycopg.connect(POSTGRES, connect_timeout=2).close()
    except psycopg.Error:
        return False
    return True


def redis_answers() -> bool:
    try:
        with socket.create_connection(REDIS, timeout=2) as s:
            s.sendall(b"PING\r\n")
            return s.recv(7) == b"+PONG\r\n"
    except OSError:
        return False


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    require(postgres_answers(), f"needs PostgreSQL at {POSTGRES}")
    import psycopg

    name = f"django_res_scale_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield POSTGRES.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(POSTGRES, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def redis_url() -> str:
    require(redis_answers(), "needs Redis at 127.0.0.1:6379")
    return f"redis://127.0.0.1:6379/{random.randint(1, 15)}"


def peers(node: NatsServer) -> int:
    """How many other nodes ``node`` has routes to now (from its monitoring port)."""
    args = list(node.proc.args)
    routes = httpx.get(f"http://127.0.0.1:{args[args.index('-m') + 1]}/routez").json().get("routes") or []
    return len({route["remote_id"] for route in routes})


def start_cluster() -> list[NatsServer]:
    """Three nats-servers routed to each other on loopback; returns once every node sees both others."""
    routes, monitors = [free_port() for _ in range(3)], [free_port() for _ in range(3)]
    nodes: list[NatsServer] = []
    try:
        for i in range(3):
            others = ",".join(f"nats://127.0.0.1:{p}" for j, p in enumerate(routes) if j != i)
            cluster = ["--cluster_name", "django-res", "--cluster", f"nats://127.0.0.1:{routes[i]}"]
            nodes.append(NatsServer(extra=[*cluster, "--routes", others, "-m", str(monitors[i])]))
        deadline = time.monotonic() + 20
        while not all(peers(node) == 2 for node in nodes):
            assert time.monotonic() < deadline, "the NATS cluster did not form"
            time.sleep(0.1)
    except BaseException:
        for node in nodes:
            node.stop()
        raise
    return nodes


@dataclass
class Topology:
    nodes: list[NatsServer]
    gateways: list[int]  # ports of gateway A and gateway B
    processes: list[Process]

    def ws_url(self, gateway: int) -> str:
        return f"ws://127.0.0.1:{self.gateways[gateway]}/"

    @contextlib.contextmanager
    def explained(self) -> Iterator[None]:
        """On a failed assertion, add the end of every process's output to the message."""
        try:
            yield
        except AssertionError as exc:
            logs = "\n".join(f"--- {p.name}\n{p.output()[-2000:]}" for p in self.processes)
            raise AssertionError(f"{exc}\n{logs}") from exc

    def api(self, gateway: int, path: str) -> httpx.Response:
        return httpx.get(f"http://127.0.0.1:{self.gateways[gateway]}/api/{path}", timeout=10)


@pytest.fixture(scope="module")
def topology(database_url: str, redis_url: str) -> Iterator[Topology]:
    nodes = start_cluster()
    env = {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "PYTHONUNBUFFERED": "1"}
    processes: list[Process] = []
    try:
        setup = subprocess.run(
            [sys.executable, "-m", "resproject.stack", "prepare"],
            cwd=ROOT,
            env={**os.environ, **env, "NATS_URL": nodes[0].url},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert setup.returncode == 0, setup.stdout + setup.stderr
        for name, node in (("service-a", nodes[1]), ("service-b", nodes[2])):
            processes.append(manage("runresservice", env={**env, "NATS_URL": node.url}, name=name))
        gateways = []
        for name, node in (("gateway-a", nodes[0]), ("gateway-b", nodes[1])):
            port = free_port()
            args = (
                "rungateway",
                "--addr",
                "127.0.0.1",
                "--port",
                str(port),
                "--nats",
                node.url,
                "--workers",
                "1",
            )
            processes.append(manage(*args, env={**env, "NATS_URL": node.url}, name=name))
            gateways.append(port)
        for port, process in zip(gateways, processes[2:], strict=True):
            wait_for_port(port, timeout=60, proc=process.proc)
        for service in processes[:2]:
            deadline = time.monotonic() + 60
            while "RES service serving" not in service.output():
                assert service.proc.poll() is None, service.output()
                assert time.monotonic() < deadline, service.output()
                time.sleep(0.1)
        yield Topology(nodes, gateways, processes)
    finally:
        for process in reversed(processes):
            process.stop()
        for node in nodes:
            node.stop()


@pytest.fixture
async def clients(topology: Topology) -> AsyncIterator[tuple[Client, Client]]:
    """A client on each gateway, both subscribed to the books."""
    a, b = await Client.connect(topology.ws_url(0)), await Client.connect(topology.ws_url(1))
    for client in (a, b):
        await client.send("version", {"protocol": "1.2.3"}).result()
        await client.send("subscribe.library.books").result()
    yield a, b
    await a.close()
    await b.close()


async def exactly_once(client: Client, event: str) -> dict:
    """The next event is ``event``, and no second one (nor anything else) follows."""
    message = await client.get_event(event)
    await client.assert_no_message(QUIET)
    return message["data"]


async def each_sees_the_others_changes(a: Client, b: Client, topology: Topology) -> None:
    for writer, reader in ((a, b), (b, a)):
        title = f"Book {uuid.uuid4().hex[:8]}"
        result = await writer.send("call.library.books.new", {"title": title, "author": "Scale"}).result()
        rid = result["rid"]
        added = await exactly_once(reader, "library.books.add")
        assert added["value"] == {"rid": rid}
        assert added["models"][rid]["title"] == title
        await exactly_once(writer, "library.books.add")

        renamed = f"{title} (revised)"
        await reader.send(f"call.{rid}.set", {"title": renamed}).result()
        for client in (writer, reader):
            assert await exactly_once(client, f"{rid}.change") == {"values": {"title": renamed}}

        views = [topology.api(gateway, "library/books").json() for gateway in (0, 1)]
        assert views[0] == views[1]
        assert sum(book["model"]["title"] == renamed for book in views[0]) == 1


async def test_each_gateway_sees_the_others_changes_once(clients, topology: Topology) -> None:
    with topology.explained():
        await each_sees_the_others_changes(*clients, topology)


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        time.sleep(0.05)


async def test_losing_a_nats_node_keeps_the_stack_serving(clients, topology: Topology) -> None:
    service_b, reconnected = topology.processes[1], "; system.reset sent"
    seen = service_b.output().count(reconnected)
    topology.nodes[2].stop()  # service B's node; both gateways are elsewhere
    with topology.explained():
        # A request in flight through the dying node is lost (NATS delivers at most once): the stack
        # must serve every request made once the other nodes dropped it and service B is back.
        wait_until(lambda: all(peers(node) == 1 for node in topology.nodes[:2]), "nodes 1, 2 drop node 3")
        wait_until(
            lambda: service_b.output().count(reconnected) > seen,
            "service B reconnects and sends system.reset",
        )
        for _ in range(2):  # several calls, so both services (in one queue group) take some
            await each_sees_the_others_changes(*clients, topology)
    assert all(p.proc.poll() is None for p in topology.processes), "a process died with the node"
    for gateway in (0, 1):
        books = topology.api(gateway, "library/books").json()
        assert len({book["href"] for book in books}) == len(books)
    assert json.dumps(topology.api(0, "library/books").json()) == json.dumps(
        topology.api(1, "library/books").json()
    )
