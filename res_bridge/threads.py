"""The service's thread pool for ORM work: each thread keeps its database connections between jobs.

Django closes a connection at the end of each web request when ``CONN_MAX_AGE`` is 0 (its default), which
suits short-lived web workers; a service's fixed pool of threads would then open a connection per RES
request, which costs more than most gets. So a connection stays open until it is unusable
(``close_old_connections`` still drops a broken one, and ``CONN_MAX_AGE`` above 0 or
``CONN_HEALTH_CHECKS`` still apply) or the pool shuts down: idle connections are closed then, busy ones
when their job ends, so a test database can be dropped after the service stops.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable
from typing import Any

from django.db import close_old_connections, connections
from django.db.backends.base.base import BaseDatabaseWrapper


class DatabaseThreads:
    """``workers`` threads named ``name``-N running ORM jobs on persistent database connections."""

    def __init__(self, workers: int, name: str) -> None:
        self._executor = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix=name)
        self._lock = threading.Lock()
        self._idle: dict[int, list[BaseDatabaseWrapper]] = {}  # thread id -> its open connections
        self._closed = False

    def run(self, loop: asyncio.AbstractEventLoop, job: Callable[[], Any]) -> asyncio.Future[Any]:
        """Run ``job`` on a pool thread; its result or exception comes back on ``loop``."""
        return loop.run_in_executor(self._executor, self._run, job)

    def _run(self, job: Callable[[], Any]) -> Any:
        with self._lock:
            self._idle.pop(threading.get_ident(), None)
        close_old_connections()
        try:
            return job()
        finally:
            self._check_in()

    def _check_in(self) -> None:
        """Keep this thread's usable connections open (closing them if the pool has shut down)."""
        opened = connections.all(initialized_only=True)
        for conn in opened:
            if conn.settings_dict["CONN_MAX_AGE"] == 0:
                conn.close_at = None
        close_old_connections()
        kept = [conn for conn in opened if conn.connection is not None]
        with self._lock:
            if not self._closed:
                self._idle[threading.get_ident()] = kept
                return
        for conn in kept:
            conn.close()

    async def shutdown(self) -> None:
        """Take no more jobs and close the connections of idle threads (busy ones close their own)."""
        self._executor.shutdown(wait=False, cancel_futures=True)
        await asyncio.to_thread(self._close_idle)  # Django closes connections outside event loops only

    def _close_idle(self) -> None:
        with self._lock:
            self._closed = True
            idle = [conn for kept in self._idle.values() for conn in kept]
            self._idle.clear()
        for conn in idle:
            conn.inc_thread_sharing()  # closed from this thread, while its own thread waits for a job
            try:
                conn.close()
            finally:
                conn.dec_thread_sharing()
