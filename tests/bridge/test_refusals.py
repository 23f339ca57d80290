"""Refused requests cost the service nothing once answered: no shared error keeps a growing traceback.

The requests go straight to the service's handler, in this process: NATS would add nothing measured here.
"""

from __future__ import annotations

import gc
from collections import Counter
from dataclasses import dataclass

import pytest

from res_protocol import errors, loads

pytestmark = pytest.mark.django_db(transaction=True)

REFUSED = 20_000
#: Objects the garbage collector may track more after the last three quarters (a leak is dozens a request).
GROWTH_LIMIT = 2000


@dataclass
class Message:
    subject: str
    data: bytes
    reply: str


async def test_memory_stays_flat_over_20000_refused_requests(service, monkeypatch):
    answers: Counter[str] = Counter()

    async def publish(subject: str, payload: bytes) -> None:
        answers[loads(payload)["error"]["code"]] += 1

    monkeypatch.setattr(service.nc, "publish", publish)
    cheap = [("get", "library.zz{}", "", b"{}"), ("call", "library.books", "nope", b"{}")]  # no database
    requests = [
        ("access", "library.zz{}", "", b'{"token":null}'),  # no rule: accessDenied
        ("get", "library.book.{}", "", b"{}"),  # no such row: notFound
        *cheap * 3,  # notFound, methodNotFound
    ]

    async def refuse(start: int, count: int) -> None:
        for i in range(start, start + count):
            kind, name, method, payload = requests[i % len(requests)]
            name = name.format(i + 10_000_000)
            subject = ".".join(filter(None, (kind, name, method)))
            await service._handle(Message(subject, payload, reply="_INBOX.x"), kind, name, method)

    await refuse(0, REFUSED // 4)
    gc.collect()
    before = len(gc.get_objects())
    await refuse(REFUSED // 4, REFUSED - REFUSED // 4)
    gc.collect()
    growth = len(gc.get_objects()) - before
    assert answers == {
        errors.CODE_ACCESS_DENIED: REFUSED // 8,
        errors.CODE_NOT_FOUND: REFUSED // 8 + REFUSED * 3 // 8,
        errors.CODE_METHOD_NOT_FOUND: REFUSED * 3 // 8,
    }
    for shared in (errors.ACCESS_DENIED, errors.NOT_FOUND, errors.METHOD_NOT_FOUND):
        assert shared.__traceback__ is None and shared.__context__ is None
    assert growth < GROWTH_LIMIT, f"{growth} more objects after {REFUSED - REFUSED // 4} refused requests"
