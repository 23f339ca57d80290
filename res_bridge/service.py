"""The RES service runtime: answers get, access, call, auth and query requests over NATS.

    service = Service()          # serves the default registry
    await service.start()        # on the running loop: connect, subscribe, send system.reset
    ...
    await service.stop()

``manage.py runresservice`` does just that; any Django process can do it on its own loop.
Requests for one resource are handled one at a time, in arrival order; requests for different
resources run in parallel, their ORM work on a thread pool whose threads keep their database connections
(``res_bridge.threads``).
The service sends ``system.reset`` for what it serves on start and after every reconnect. It also serves
the public access revision, ``<AUTH_RID>.access`` (``res_bridge.revision``), and runs an outbox relay
(``res_bridge.relay``; ``relay=False`` leaves it out): the events of a call go out before its reply.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import logging
import signal
import time
from collections import deque
from collections.abc import Callable, Coroutine
from functools import partial
from typing import Any

import nats
from django.db import transaction

from res_protocol import ResError, dumps, error_payload, errors, resource_payload, result_payload

from . import logins, revision
from . import publisher as publisher_module
from .conf import bridge_settings, server_urls
from .events import QUERY_SUBJECT_PREFIX, parse_query_subject
from .registry import COLLECTION, MODEL, RELATION, Registry, registry
from .relay import Relay
from .requests import Request, ResourceResponse
from .threads import DatabaseThreads

logger = logging.getLogger(__name__)

Job = Callable[[], Any]


class Service:
    """Serves the resources of ``registry`` on NATS (settings ``NATS_URL``, ``QUEUE_GROUP``, ``WORKERS``).

    ``nats_url`` may list several nodes of a cluster, comma-separated, like ``NATS_URL``."""

    def __init__(
        self,
        registry: Registry = registry,
        nats_url: str | None = None,
        queue_group: str | None = None,
        workers: int | None = None,
        reconnect_wait: float = 0.5,
        relay: bool = True,
    ) -> None:
        self.registry = registry
        self.servers = server_urls(nats_url) if nats_url else bridge_settings.nats_servers
        self.queue_group = queue_group or bridge_settings.QUEUE_GROUP
        self.workers = workers or bridge_settings.WORKERS
        self.reconnect_wait = reconnect_wait
        self.nc: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._threads: DatabaseThreads | None = None
        self._queues: dict[str, deque[Job]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._password_checks = asyncio.Semaphore(bridge_settings.LOGIN_CONCURRENCY)
        self._outgoing: asyncio.Queue[tuple[str, bytes]] | None = None
        self._subscriptions: list[Any] = []
        self._sender: asyncio.Task[None] | None = None
        self._stopped = asyncio.Event()
        self.relay: Relay | None = None
        self._with_relay = relay

    # -- lifecycle ------------------------------------------------------------------------------

    @property
    def patterns(self) -> list[str]:
        """The resource name patterns this service serves (one per namespace: ``library.>``)."""
        return [f"{namespace}.>" for namespace in self.registry.namespaces()]

    async def start(self) -> None:
        """Connect (retrying until NATS is up), subscribe, and announce with ``system.reset``."""
        self._loop = asyncio.get_running_loop()
        self._threads = DatabaseThreads(self.workers, "res-service")
        self._outgoing = asyncio.Queue()
        self.nc = await nats.connect(
            servers=self.servers,
            max_reconnect_attempts=-1,
            reconnect_time_wait=self.reconnect_wait,
            reconnected_cb=self._on_reconnected,
            disconnected_cb=self._on_disconnected,
            error_cb=self._on_error,
            name="res_bridge service",
        )
        subjects = [f"{kind}.{pattern}" for pattern in self.patterns for kind in ("get", "call", "access")]
        subjects += [f"get.{revision.access_rid()}", f"access.{revision.access_rid()}"]
        subjects += [f"auth.{bridge_settings.AUTH_RID}.*", f"{QUERY_SUBJECT_PREFIX}.>"]
        self._subscriptions = [
            await self.nc.subscribe(subject, queue=self.queue_group, cb=self._on_message)
            for subject in subjects
        ]
        self._sender = self._spawn(self._send_outgoing())
        publisher_module.publisher.attach(self)
        if self._with_relay:
            self.relay = Relay(self.nc, reg=self.registry)
            await self.relay.start()
            await self.relay.drain()
        await self.reset()
        logger.info("RES service serving %s on %s", ", ".join(self.patterns), self.nc.connected_url.netloc)

    async def serve_forever(self) -> None:
        """Start, then serve until :meth:`shutdown`, which also ends a start still waiting for NATS."""
        starting = asyncio.ensure_future(self.start())
        stopped = asyncio.ensure_future(self._stopped.wait())
        try:
            await asyncio.wait([starting, stopped], return_when=asyncio.FIRST_COMPLETED)
            if not starting.done():
                starting.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await starting
                logger.info("RES service stopped before NATS answered")
                return
            starting.result()
            await stopped
        finally:
            stopped.cancel()
            await self.stop()

    def shutdown(self) -> None:
        """Ask :meth:`serve_forever` to stop (call on the service's loop)."""
        self._stopped.set()

    def start_on(self, loop: asyncio.AbstractEventLoop) -> concurrent.futures.Future[None]:
        """Start on a loop running in another thread (from synchronous code)."""
        return asyncio.run_coroutine_threadsafe(self.start(), loop)

    async def stop(self) -> None:
        """Stop taking requests, finish those under way (up to 5 s), deliver what is queued, close.

        Clean in every connection state: while NATS is unreachable or the connection is closed,
        nothing more can be delivered, so the service says so in one log line and closes.
        """
        if self.nc is None:
            return
        nc = self.nc
        publisher_module.publisher.attach(None)
        self._stopped.set()
        if self.relay is not None:
            await self.relay.stop()
            self.relay = None
        for sub in self._subscriptions:
            with contextlib.suppress(nats.errors.Error):  # closed meanwhile: nothing to unsubscribe from
                await sub.unsubscribe()
        working = [task for task in self._tasks if task is not self._sender]
        if working:
            await asyncio.wait(working, timeout=5)
        if nc.is_connected:
            try:
                await asyncio.wait_for(self.flush(), 5)
            except Exception as e:  # noqa: BLE001 - the connection failed while stopping
                logger.warning("RES service stopping: queued messages may be lost (%s)", e)
        else:
            logger.warning(
                "RES service stopping while NATS is %s: closing; %d queued messages not delivered",
                "closed" if nc.is_closed else "unreachable",
                self._outgoing.qsize(),  # type: ignore[union-attr]
            )
        self.nc = None
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await nc.close()
        await self._threads.shutdown()  # type: ignore[union-attr]

    async def reset(self) -> None:
        """``system.reset`` for every resource and access this service owns."""
        patterns = self.patterns
        await self.nc.publish("system.reset", dumps({"resources": patterns, "access": patterns}))

    async def _on_reconnected(self) -> None:
        """Subscriptions are back (nats-py sends them first); tell the gateways to reload what we serve."""
        if self.relay is not None:
            self.relay.wake()
        try:
            await self.reset()
            logger.info(
                "RES service reconnected to NATS on %s; system.reset sent", self.nc.connected_url.netloc
            )
        except Exception as e:  # noqa: BLE001 - raised here, nats-py would take the reconnect as failed
            logger.error("RES service reconnected to NATS, but sending system.reset failed: %s", e)

    async def _on_disconnected(self) -> None:
        if self.nc is not None and not self.nc.is_closed:
            logger.warning("RES service lost its NATS connection; reconnecting")

    async def _on_error(self, e: Exception) -> None:
        if self.nc is None:  # still connecting: each attempt says so
            logger.warning("NATS at %s is unreachable (%s); retrying", ", ".join(self.servers), e)
        else:
            logger.debug("NATS error: %s", e)

    # -- publishing from other threads ----------------------------------------------------------

    def send_threadsafe(self, subject: str, data: bytes) -> None:
        """Queue a message on the service connection (the publisher's transport in this process)."""
        try:
            in_loop = asyncio.get_running_loop() is self._loop
        except RuntimeError:
            in_loop = False
        if in_loop:
            self._outgoing.put_nowait((subject, data))  # type: ignore[union-attr]
        else:
            self._loop.call_soon_threadsafe(self._outgoing.put_nowait, (subject, data))  # type: ignore[union-attr]

    async def _send_outgoing(self) -> None:
        while True:
            subject, data = await self._outgoing.get()  # type: ignore[union-attr]
            try:
                await self.nc.publish(subject, data)
            except Exception as e:  # noqa: BLE001 - a failed publish must not end the sender
                logger.error("publishing %s failed: %s", subject, e)
            finally:
                self._outgoing.task_done()  # type: ignore[union-attr]

    async def flush(self) -> None:
        """Wait until the outbox is sent and messages queued from other threads have reached NATS."""
        if self.relay is not None:
            await self.relay.drain()
        await self._outgoing.join()  # type: ignore[union-attr]
        await publisher_module.round_trip(self.nc, 5)

    # -- dispatch -------------------------------------------------------------------------------

    async def _on_message(self, msg: Any) -> None:
        subject: str = msg.subject
        if subject.startswith(QUERY_SUBJECT_PREFIX + "."):
            parsed = parse_query_subject(subject)
            if parsed is None or parsed[1] < time.time():
                return  # an expired query event subject: no longer answered
            name, method, kind = parsed[0], "", "query"
        else:
            kind, _, name = subject.partition(".")
            method = ""
            if kind in ("call", "auth"):
                name, _, method = name.rpartition(".")
            if kind == "auth":  # no order to keep with the resource's requests: never queued behind them
                self._spawn(self._authenticate(msg, name, method))
                return
        self._enqueue(name, lambda: self._handle(msg, kind, name, method))

    async def _authenticate(self, msg: Any, name: str, method: str) -> None:
        """An auth request; password checks wait for one of ``LOGIN_CONCURRENCY`` turns, nothing else does."""
        if method not in logins.PASSWORD_METHODS:
            await self._handle(msg, "auth", name, method)
            return
        async with self._password_checks:
            await self._handle(msg, "auth", name, method)

    def _enqueue(self, key: str, job: Job) -> None:
        """Run ``job`` after every earlier job for the same resource."""
        queue = self._queues.get(key)
        if queue is not None:
            queue.append(job)
            return
        self._queues[key] = deque([job])
        self._spawn(self._work(key))

    async def _work(self, key: str) -> None:
        queue = self._queues[key]
        while queue:
            await queue.popleft()()
        del self._queues[key]

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _handle(self, msg: Any, kind: str, name: str, method: str) -> None:
        """Answer one request. What the handler published goes out first, and only if it succeeded."""
        request: Request | None = None
        outbox: list[tuple[str, bytes]] = []
        try:
            request = Request.from_payload(kind, name, method, msg.data)
            if msg.reply:
                request.send_now = partial(self._send_now, msg.reply)
            result = await self._run(getattr(self, f"_{kind}"), request)
            if kind in ("call", "auth") and self.relay is not None:
                await self.relay.drain()  # the call's events go out before its reply
            outbox = request.outbox
            if isinstance(result, ResourceResponse):
                reply = resource_payload(result.rid, request.reply_meta)
            else:
                reply = result_payload(result, request.reply_meta)
        except ResError as e:
            reply = error_payload(e, request.reply_meta if request else None)
        except Exception:
            logger.exception("%s request for %s failed", kind, name)
            reply = error_payload(errors.INTERNAL_ERROR)
        try:
            for subject, data in outbox:
                await self.nc.publish(subject, data)
            if msg.reply:
                await self.nc.publish(msg.reply, reply)
        except Exception as e:  # noqa: BLE001 - the connection went away; gateways time out
            logger.warning("replying to %s failed: %s", msg.subject, e)

    def _send_now(self, subject: str, data: bytes) -> None:
        """Publish from a handler's thread, waiting until the message is on its way."""
        asyncio.run_coroutine_threadsafe(self.nc.publish(subject, data), self._loop).result(5)  # type: ignore[arg-type]

    async def _run(self, handler: Callable[[Request], Any], request: Request) -> Any:
        """Run a handler on the thread pool, holding what it publishes until the reply."""

        def call() -> Any:
            with publisher_module.publisher.capture(request.outbox):
                return handler(request)

        context = contextvars.copy_context()
        return await self._threads.run(self._loop, partial(context.run, call))  # type: ignore[union-attr,arg-type]

    # -- handlers (on the thread pool) ----------------------------------------------------------

    def _resolve(self, name: str) -> tuple[Any, dict[str, str]]:
        found = self.registry.resolve(name)
        if found is None:
            raise errors.NOT_FOUND()
        return found

    def _get(self, request: Request) -> dict[str, Any]:
        if request.resource_name == revision.access_rid():
            return {"model": revision.model()}
        route, params = self._resolve(request.resource_name)
        resource = route.resource
        if route.kind == MODEL:
            return {"model": resource.to_model(resource.get_object(params[resource.lookup]))}
        if route.kind == COLLECTION:
            if request.query and resource.is_queryable:
                query = resource.parse_query(request.query)
                return {"collection": resource.query_rows(query), "query": query.normalized}
            return {"collection": resource.all_rows()}
        owner = resource.get_object(params[resource.lookup])
        relation = self.registry.relation(resource, route.relation)
        if relation is None:
            raise errors.NOT_FOUND()
        item = self.registry.resource_for(relation.item_model)
        return {"collection": item.to_collection(relation.items(owner.pk, item))}

    def _query(self, request: Request) -> Any:
        """A query request after a query event, answered with the query's current result.

        The protocol asks for the result as of the event. Every committed transaction that saves, deletes
        or announces rows of a queryable model sends its own query event after its other events; a gateway
        handles a resource's query events one at a time, diffing each answer against its copy, and ignores
        a timed-out one.
        So the answer to the last event, given after the last commit, carries the final data, and every
        copy converges on it (a lost answer leaves a copy stale until the next event or reset, as it
        would with answers as of the event).

        What differs: an answer may already show a later transaction, so a client can see its effect on a
        query collection (a row added, removed or moved) just before that transaction's own change events
        for the rows reach it; the later query event then diffs to nothing. Answering as of the event
        would need the state at that commit where the query is answered: the event is sent by whichever
        process committed (a web worker, a shell command that exits at once), while any service of the
        queue group answers, so the snapshot (or a log of every later change) would have to travel
        between processes, and the queries to evaluate are only known when their requests arrive.
        """
        route, _ = self._resolve(request.resource_name)
        if route.kind != COLLECTION or not route.resource.is_queryable:
            raise errors.NOT_FOUND()
        if not request.query:
            raise errors.internal_error("missing query")
        return {"collection": route.resource.query_rows(route.resource.parse_query(request.query))}

    def _access(self, request: Request) -> Any:
        if request.resource_name == revision.access_rid():
            return revision.ACCESS.to_result()
        access = bridge_settings.ACCESS_POLICY(self.registry).decide(request)
        if not access.get and not access.call:
            raise errors.ACCESS_DENIED()
        return access.to_result()

    def _call(self, request: Request) -> Any:
        route, params = self._resolve(request.resource_name)
        resource = route.resource
        handler = (
            None if route.kind == RELATION else resource.method_handler(request.method, route.kind == MODEL)
        )
        if handler is None:
            raise errors.METHOD_NOT_FOUND()
        request.path_params = params
        with transaction.atomic():
            if route.kind == MODEL:
                return handler(request, resource.get_object(params[resource.lookup]))
            return handler(request)

    def _auth(self, request: Request) -> Any:
        """No transaction around it: on SQLite (``IMMEDIATE``) one would hold the write lock through the
        password check, so logins and every other auth request would take turns."""
        from . import auth

        return auth.handle(request)


def run(service: Service | None = None) -> None:
    """Serve until SIGINT or SIGTERM (what ``runresservice`` runs)."""
    service = service or Service()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, service.shutdown)
        await service.serve_forever()

    asyncio.run(main())
