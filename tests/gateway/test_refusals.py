"""Refused requests cost nothing once answered: no error keeps a growing traceback, memory stays flat.

In-process (a gateway core on a real NATS server, a connection fed raw client messages): a separate
process would add nothing to what is measured.
"""

from __future__ import annotations

import asyncio
import gc
import tracemalloc
from collections import Counter
from typing import Any

from res_gateway.connection import Connection
from res_gateway.gateway import Gateway
from res_gateway.mq import NO_RESPONDERS
from res_gateway.mq.nats import NatsClient
from res_protocol import dumps, errors, loads

#: Refused requests: one in five after a NATS round trip, the others at once by the gateway.
REFUSED = 20_000
#: What the traced heap may grow by from the first quarter of the flood to its end (a leak is ~8 KB each).
GROWTH_LIMIT = 512 * 1024
#: Requests a client leaves unanswered at a time.
WINDOW = 100


async def test_memory_stays_flat_over_20000_refused_requests(nats_url, settings):
    # Nothing kept for a grace delay, no per-connection limit: only what the refusals themselves leave.
    settings.RES_GATEWAY = {"unsubscribeDelay": 0, "maxRequestsInFlight": 0, "maxSubscribeRate": 0}
    gw = Gateway(NatsClient(nats_url))
    await gw.ready()
    codes: Counter[str] = Counter()
    answered = asyncio.Event()

    async def send(message: dict[str, Any]) -> None:
        codes[loads(message["text"])["error"]["code"]] += 1
        answered.set()

    async def wait_answers(count: int) -> None:
        while codes.total() < count:
            answered.clear()
            await asyncio.wait_for(answered.wait(), 10)

    async def flood(conn: Connection, start: int, count: int) -> None:
        """Refused requests, at most :data:`WINDOW` unanswered, as a client reading its answers sends them."""
        for i in range(start, start + count):
            if i % 5 == 0:  # no service answers: system.notFound from NATS's no-responders status
                conn.receive(dumps({"id": i, "method": f"subscribe.test.zz{i}"}))
            elif i % 2:
                conn.receive(dumps({"id": i, "method": "bogus"}))
            else:
                conn.receive(dumps({"id": i, "method": f"unsubscribe.test.zz{i}"}))
            await wait_answers(i + 1 - WINDOW)
        await wait_answers(start + count)

    tracemalloc.start()
    try:
        async with Connection(gw, send=send) as conn:
            await flood(conn, 0, REFUSED // 4)
            gc.collect()
            before = tracemalloc.get_traced_memory()[0]
            await flood(conn, REFUSED // 4, REFUSED - REFUSED // 4)
            gc.collect()
            growth = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
        await gw.stop()
    assert codes == {
        errors.CODE_NOT_FOUND: REFUSED // 5,
        errors.CODE_INVALID_REQUEST: REFUSED * 2 // 5,
        errors.CODE_NO_SUBSCRIPTION: REFUSED * 2 // 5,
    }
    for shared in (errors.INVALID_REQUEST, errors.NO_SUBSCRIPTION, errors.NOT_FOUND, NO_RESPONDERS):
        assert shared.__traceback__ is None and shared.__context__ is None
    assert growth < GROWTH_LIMIT, f"heap grew {growth} bytes over {REFUSED - REFUSED // 4} refused requests"


async def test_a_failed_get_leaves_no_event_subscription(nats_url, settings):
    """Nothing of a refused resource is cached, so nothing is kept for the unsubscribe delay either."""
    settings.RES_GATEWAY = {"unsubscribeDelay": 60}
    gw = Gateway(NatsClient(nats_url))
    await gw.ready()
    try:
        async with Connection(gw) as conn:
            tree = asyncio.ensure_future(conn.load("test.nobody"))
            await asyncio.wait([tree], timeout=5)
            assert tree.exception() == errors.NOT_FOUND
            assert gw.cache.event_subscriptions == {}
    finally:
        await gw.stop()
