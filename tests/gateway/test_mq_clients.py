"""NatsClient on a real nats-server and MemoryClient on its broker, held to the same expectations."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest

from res_gateway.mq import MQClient, NoResponders
from res_gateway.mq.memory import MemoryBroker, MemoryClient
from res_gateway.mq.nats import NatsClient
from res_protocol import ResError
from tests.support import nats_round_trip


@dataclass
class Peers:
    """The client under test, a second one on the same server, and a unique subject root."""

    mq: MQClient
    peer: MQClient
    root: str
    #: Return once both clients' subscriptions are known to the server.
    settle: Callable[[], Awaitable[None]]

    async def delivered(self) -> None:
        """Return once what ``peer`` published so far reached ``mq``'s handlers (a connection keeps order)."""
        done = asyncio.Event()
        sub = self.mq.subscribe(f"{self.root}.end", lambda subject, payload: done.set())
        await self.settle()
        await self.peer.publish(f"{self.root}.end", b"")
        async with asyncio.timeout(5):
            await done.wait()
        sub.unsubscribe()


@pytest.fixture(params=["nats", "memory"])
async def peers(request: pytest.FixtureRequest) -> AsyncIterator[Peers]:
    settle: Callable[[], Awaitable[None]]
    if request.param == "nats":
        url = request.getfixturevalue("nats_url")
        mq, peer = NatsClient(url), NatsClient(url)

        async def settle() -> None:
            await nats_round_trip(mq.nc)
            await nats_round_trip(peer.nc)

    else:
        broker = MemoryBroker()
        mq, peer = MemoryClient(broker), MemoryClient(broker)
        settle = broker.flush
    await mq.connect()
    await peer.connect()
    yield Peers(mq, peer, f"mq{secrets.token_hex(4)}", settle)
    await mq.close()
    await peer.close()


async def test_wildcards_and_order_per_subscription(peers: Peers) -> None:
    r = peers.root
    patterns = [f"{r}.a.*", f"{r}.a.>", f"{r}.a.b.c", f"{r}.*.b.*", f"{r}.>", f"{r}.a.*.c", "*.a.b.c"]
    subjects = ["a", "a.b", "a.b.c", "a.b.c.d", "x.b.y", "a.x.c", "a.b"]
    seen: dict[str, list[str]] = {p: [] for p in patterns}
    for pattern in patterns:
        peers.mq.subscribe(pattern, lambda subject, payload, p=pattern: seen[p].append(payload.decode()))
    await peers.settle()
    for i, subject in enumerate(subjects):
        await peers.peer.publish(f"{r}.{subject}", f"{i}:{subject}".encode())
    await peers.delivered()
    assert seen == {
        f"{r}.a.*": ["1:a.b", "6:a.b"],
        f"{r}.a.>": ["1:a.b", "2:a.b.c", "3:a.b.c.d", "5:a.x.c", "6:a.b"],
        f"{r}.a.b.c": ["2:a.b.c"],
        f"{r}.*.b.*": ["2:a.b.c", "4:x.b.y"],
        f"{r}.>": ["0:a", "1:a.b", "2:a.b.c", "3:a.b.c.d", "4:x.b.y", "5:a.x.c", "6:a.b", ""],  # "": the end
        f"{r}.a.*.c": ["2:a.b.c", "5:a.x.c"],
        "*.a.b.c": ["2:a.b.c"],
    }


async def test_request_gets_the_reply(peers: Peers) -> None:
    peers.peer.serve(f"{peers.root}.echo", lambda payload: b"[" + payload + b"]")
    await peers.settle()
    assert await peers.mq.request(f"{peers.root}.echo", b"1", 5) == b"[1]"


async def test_a_subscription_is_in_place_for_a_request_sent_right_after_it(peers: Peers) -> None:
    """The cache subscribes to a resource's events and sends its get without waiting in between: what the
    service publishes once it has the get must reach the subscription."""
    r = peers.root
    published: list[asyncio.Future[None]] = []

    def answer(payload: bytes) -> bytes:
        published.append(
            asyncio.ensure_future(peers.peer.publish(f"{r}.event.{payload.decode()}.change", b""))
        )
        return b"{}"

    peers.peer.serve(f"{r}.get.*", answer)
    await peers.settle()
    seen: list[str] = []
    requests = []
    for i in range(50):
        peers.mq.subscribe(f"{r}.event.{i}.*", lambda subject, payload: seen.append(subject))
        requests.append(peers.mq.request(f"{r}.get.{i}", str(i).encode(), 5))
    await asyncio.gather(*requests)
    await asyncio.gather(*published)
    await peers.delivered()
    assert sorted(seen) == sorted(f"{r}.event.{i}.change" for i in range(50))


async def test_request_nobody_serves_fails_with_no_responders(peers: Peers) -> None:
    with pytest.raises(NoResponders) as e:
        await peers.mq.request(f"{peers.root}.nobody", b"", 5)
    assert e.value.code == "system.notFound"


async def test_request_unanswered_times_out(peers: Peers) -> None:
    peers.peer.subscribe(f"{peers.root}.silent", lambda subject, payload: None)
    await peers.settle()
    with pytest.raises(ResError) as e:
        await peers.mq.request(f"{peers.root}.silent", b"", 0.1)
    assert e.value.code == "system.timeout"


async def test_unsubscribed_handler_gets_nothing_more(peers: Peers) -> None:
    seen: list[bytes] = []
    sub = peers.mq.subscribe(f"{peers.root}.x", lambda subject, payload: seen.append(payload))
    served = peers.peer.serve(f"{peers.root}.svc", lambda payload: b"ok")
    await peers.settle()
    await peers.peer.publish(f"{peers.root}.x", b"1")
    await peers.delivered()
    sub.unsubscribe()
    served.unsubscribe()
    await peers.settle()
    await peers.peer.publish(f"{peers.root}.x", b"2")
    await peers.delivered()
    assert seen == [b"1"]
    with pytest.raises(NoResponders):
        await peers.mq.request(f"{peers.root}.svc", b"", 5)


async def test_subjects_too_long_for_nats_are_refused(peers: Peers) -> None:
    long = f"{peers.root}." + "a" * 4096
    with pytest.raises(ResError) as e:
        peers.mq.subscribe(long, lambda subject, payload: None)
    assert e.value.code == "system.subjectTooLong"
    for attempt in (peers.mq.request(long, b"", 5), peers.mq.publish(long, b"")):
        with pytest.raises(ResError) as e:
            await attempt
        assert e.value.code == "system.subjectTooLong"


async def test_closed_client_calls_on_disconnect_and_refuses_requests(peers: Peers) -> None:
    calls: list[str] = []
    peers.mq.on_disconnect = lambda: calls.append("disconnect")
    await peers.mq.close()
    assert calls == ["disconnect"] and not peers.mq.connected
    with pytest.raises(ResError) as e:
        await peers.mq.request(f"{peers.root}.any", b"", 5)
    assert e.value == ResError("system.internalError", "not connected to NATS")
