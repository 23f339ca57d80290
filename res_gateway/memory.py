"""Giving the C heap's free memory back to the system after a burst (glibc only; elsewhere a no-op).

A burst of connections and subscriptions leaves megabytes free inside glibc's heap once its buffers and
requests are gone, and glibc keeps them. Once a second, when the free bytes grew by more than
:data:`TRIM_ABOVE` since the last look that found less, ``malloc_trim`` returns them (in
``bench/storm.py``'s memory burst, about a sixth of the gateway's growth).
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging

logger = logging.getLogger(__name__)

#: Free bytes in the heap above which it is trimmed.
TRIM_ABOVE = 4 * 2**20
#: Seconds between looks at the heap.
INTERVAL = 1.0


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
            "keepcost",
        )
    ]  # fmt: skip


def _libc() -> ctypes.CDLL | None:
    """glibc with ``mallinfo2`` (2.33 and later), or None."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        libc.mallinfo2.restype = _MallInfo2
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
    except (OSError, AttributeError):
        return None
    return libc


def free_heap_bytes(libc: ctypes.CDLL) -> int:
    return int(libc.mallinfo2().fordblks)


async def trim_heap_forever() -> None:
    """Trim the heap whenever enough of it lies free; returns at once where that cannot be done."""
    libc = _libc()
    if libc is None:
        logger.debug("not glibc: the heap is not trimmed")
        return
    floor = free_heap_bytes(libc)  # trimmed pages still count as free: look for growth since then
    while True:
        await asyncio.sleep(INTERVAL)
        free = free_heap_bytes(libc)
        if free > floor + TRIM_ABOVE:
            libc.malloc_trim(0)
            floor = free
        else:
            floor = min(floor, free)
