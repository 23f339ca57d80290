"""The gateway gives the C heap's free memory back to the system after a burst."""

from __future__ import annotations

import asyncio
import contextlib
import os

from res_gateway import memory


def rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def test_free_memory_left_by_a_burst_is_returned(monkeypatch) -> None:
    assert memory._libc() is not None  # glibc, as on every machine the project runs on
    monkeypatch.setattr(memory, "INTERVAL", 0.05)
    trimming = asyncio.ensure_future(memory.trim_heap_forever())
    try:
        await asyncio.sleep(0.1)
        burst = [bytearray(60_000) for _ in range(1000)]  # 60 MB from malloc's heap (below its mmap size)
        del burst[::2]  # the half freed lies in holes, which glibc does not give back by itself
        before = rss()
        await asyncio.sleep(0.3)
        assert before - rss() > 20 * 2**20, (before, rss())
        del burst
    finally:
        trimming.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await trimming
