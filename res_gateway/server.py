"""Serving the gateway: an ASGI server (uvicorn or daphne) on ``addr:port`` and the metrics endpoint.

:func:`serve` blocks until SIGINT or SIGTERM, then shuts down gracefully: stop accepting, close the
WebSockets (3 s grace), close the gateway's NATS connection, close the metrics endpoint. With several
workers (uvicorn only), each is a forked process with its own gateway (NATS connection and cache) and its
own listening socket on the one port (``SO_REUSEPORT``: the kernel spreads new connections over them),
as several resgates on one NATS would be; worker ``k`` (from 0) serves its metrics on ``metricsPort + k``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import dataclasses
import gc
import logging
import os
import signal
import socket
import ssl
import time
from typing import Any

from channels.routing import get_default_application
from django.apps import apps
from django.conf import settings

from . import metrics
from .conf import GatewaySettings
from .gateway import get_gateway, stop_gateway
from .memory import trim_heap_forever

logger = logging.getLogger(__name__)

#: Seconds given to open WebSockets, and then to the gateway's NATS connection, to close.
CLOSE_GRACE = 3
#: Pending connections the listening socket queues.
BACKLOG = 2048
#: Allocations between collections of the young generation (CPython's default is 700).
YOUNG_COLLECTION_THRESHOLD = 10_000
#: WebSocket close code daphne sends clients when the gateway shuts down (autobahn refuses 1001 there).
NORMAL_CLOSURE = 1000
#: Seconds workers get to stop once asked, before they are killed.
WORKER_STOP_GRACE = 3 * CLOSE_GRACE + 1
STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}
PR_SET_PDEATHSIG = 1

ASGIApp = Any


class WorkerFailed(Exception):
    """A worker process stopped on its own; the others were stopped too."""


def default_workers() -> int:
    """Worker processes when none are asked for: one per two cores this process may run on (at least one).

    The gateway shares its machine with nats-server and the services: on two cores, one worker subscribed,
    delivered events and answered HTTP GETs with less CPU than two, and took half the memory
    (``docs/gateway-config.md``, Workers).
    """
    return max(1, len(os.sched_getaffinity(0)) // 2)


def serve(config: GatewaySettings, application: ASGIApp | None = None, workers: int = 1) -> None:
    """Serve ``application`` (default: ``settings.ASGI_APPLICATION``) with ``config.server`` until stopped.

    ``workers`` above 1 forks that many uvicorn processes sharing the port (see the module's docstring).
    """
    app = with_static_files(application or get_default_application())
    tune_garbage_collector()
    if config.server == "daphne":
        _serve_daphne(app, config)
    elif workers > 1:
        _serve_workers(app, config, [_bind(config, reuse_port=True) for _ in range(workers)])
    else:
        _serve_one(app, config, _bind(config))


def _serve_one(app: ASGIApp, config: GatewaySettings, sock: socket.socket) -> None:
    import uvloop

    uvloop.run(_serve_uvicorn(app, config, sock))


# --- workers ------------------------------------------------------------------------------------------


def _serve_workers(app: ASGIApp, config: GatewaySettings, sockets: list[socket.socket]) -> None:
    """Fork a worker per socket and wait for them; SIGINT, SIGTERM or one worker stopping stops them all."""
    pids: dict[int, int] = {}
    stopping: list[float] = []
    parent = os.getpid()

    def stop(*_: object) -> None:
        if not stopping:
            stopping.append(time.monotonic() + WORKER_STOP_GRACE)
        for pid in pids:
            _signal(pid, signal.SIGTERM)

    # A signal arriving while the workers start waits until every one of them can be told.
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    for index in range(len(sockets)):
        pid = os.fork()
        if pid == 0:
            _run_worker(app, config, sockets, index, parent)
        pids[pid] = index
    for sock in sockets:
        sock.close()
    for sig in STOP_SIGNALS:
        signal.signal(sig, stop)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    logger.info("Started %d workers (pids %s)", len(pids), ", ".join(map(str, pids)))
    failed = ""
    while pids:
        pid, status = os.waitpid(-1, os.WNOHANG)
        if pid == 0:
            if stopping and time.monotonic() > stopping[0]:
                for pid in pids:
                    logger.error("Worker %d (pid %d) did not stop in time: killing it", pids[pid], pid)
                    _signal(pid, signal.SIGKILL)
                stopping[0] = float("inf")
            time.sleep(0.05)
            continue
        index, code = pids.pop(pid), os.waitstatus_to_exitcode(status)
        if not stopping:
            failed = f"worker {index} (pid {pid}) stopped on its own (exit code {code})"
            logger.error("%s; stopping the others", failed.capitalize())
            stop()
    if failed:
        raise WorkerFailed(failed)


def _stop_with_parent(parent: int) -> None:
    """Have the kernel send SIGTERM when the command dies, even killed (Linux); stop now if it is gone."""
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:
        os.kill(os.getpid(), signal.SIGTERM)


def _run_worker(
    app: ASGIApp, config: GatewaySettings, sockets: list[socket.socket], index: int, parent: int
) -> None:
    """The forked worker ``index``: serve on its own socket until stopped, then leave the process."""
    code = 0
    try:
        for sig in STOP_SIGNALS:  # until uvicorn installs its own handlers, a signal just ends the worker
            signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        _stop_with_parent(parent)
        for other in sockets:
            if other is not sockets[index]:
                other.close()
        if config.metrics_port:
            config = dataclasses.replace(config, metrics_port=config.metrics_port + index)
        _serve_one(app, config, sockets[index])
    except BaseException:
        logger.exception("Worker %d failed", index)
        code = 1
    finally:
        logging.shutdown()
        os._exit(code)


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # already gone, not yet reaped
        os.kill(pid, sig)


def with_static_files(app: ASGIApp) -> ASGIApp:
    """In DEBUG, ``app`` behind Django's static files handler, as ``runserver`` serves them; else ``app``.

    In production the site serves them itself (WhiteNoise, see the README) or a proxy does.
    """
    if not (settings.DEBUG and settings.STATIC_URL and apps.is_installed("django.contrib.staticfiles")):
        return app
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    return ASGIStaticFilesHandler(app)


def tune_garbage_collector() -> None:
    """Leave what is loaded now out of every later collection, and collect the young generation less often.

    A gateway holds many long-lived objects (connections, subscriptions, cached resources) and makes
    short-lived ones by the thousand: at CPython's default of a young collection every 700 allocations,
    collections took nearly half the CPU of a burst of subscriptions (see ``bench/fanout.py``).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, *gc.get_threshold()[1:])


# --- uvicorn ------------------------------------------------------------------------------------------


def _bind(config: GatewaySettings, reuse_port: bool = False) -> socket.socket:
    """The API port's socket, bound before anything starts; ``""`` is every IPv4 and IPv6 interface.

    ``reuse_port`` lets several sockets of this user listen on the port, each given its share of connections.
    """
    if not config.addr and socket.has_dualstack_ipv6():
        return socket.create_server(
            ("::", config.port),
            family=socket.AF_INET6,
            backlog=BACKLOG,
            dualstack_ipv6=True,
            reuse_port=reuse_port,
        )
    family = socket.AF_INET6 if ":" in config.addr else socket.AF_INET
    return socket.create_server(
        (config.addr, config.port), family=family, backlog=BACKLOG, reuse_port=reuse_port
    )


async def _serve_uvicorn(app: ASGIApp, config: GatewaySettings, sock: socket.socket) -> None:
    import uvicorn

    from .transport import FanOutWebSocketProtocol, OneWriteHttpProtocol

    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=config.addr,
            port=config.port,
            http=OneWriteHttpProtocol,
            ws=FanOutWebSocketProtocol,
            ws_per_message_deflate=config.ws_compression,
            ssl_certfile=config.cert_file if config.tls else None,
            ssl_keyfile=config.key_file if config.tls else None,
            backlog=BACKLOG,
            access_log=False,
            log_config=None,  # Django's LOGGING stays in charge
            server_header=False,
            timeout_graceful_shutdown=CLOSE_GRACE,
        )
    )
    get_gateway()  # connect to NATS now rather than on the first request
    trimming = asyncio.ensure_future(trim_heap_forever())
    metrics_server = await start_metrics_server(config)
    # uvicorn re-raises the signal that stopped it once it is done; the rest of the shutdown runs first.
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
    logger.info(
        "Listening on %s://%s; quit with CONTROL-C", "https" if config.tls else "http", _address(sock)
    )
    try:
        await server.serve(sockets=[sock])
    finally:
        trimming.cancel()
        await _finish(metrics_server)


def _address(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


# --- daphne -------------------------------------------------------------------------------------------


def _serve_daphne(app: ASGIApp, config: GatewaySettings) -> None:
    from daphne.server import Server
    from twisted.internet import reactor
    from twisted.internet.endpoints import quoteStringArgument as quote

    every = "::" if socket.has_dualstack_ipv6() else "0.0.0.0"
    # Twisted's quoteStringArgument has no type hints.
    listen = f"port={config.port}:interface={quote(config.addr or every)}:backlog={BACKLOG}"  # type: ignore[no-untyped-call]
    endpoint = f"tcp:{listen}"
    if config.tls:
        endpoint = f"ssl:{listen}:certKey={quote(config.cert_file)}:privateKey={quote(config.key_file)}"  # type: ignore[no-untyped-call]

    def ready() -> None:  # called by daphne just before its reactor runs
        if config.ws_compression:
            server.ws_factory.setProtocolOptions(perMessageCompressionAccept=_accept_deflate)
        loop = asyncio.get_event_loop()
        loop.call_soon(get_gateway)  # connect to NATS now rather than on the first request
        started = loop.create_task(start_metrics_server(config))

        async def shutdown() -> None:
            try:
                await _close_daphne_websockets(server)
                await _finish(await started)
            finally:
                reactor.stop()  # type: ignore[misc]  # Twisted's interfaces type-check with mypy-zope alone

        def on_signal() -> None:
            for sig in (signal.SIGINT, signal.SIGTERM):  # one shutdown, whatever follows
                loop.add_signal_handler(sig, lambda: None)
            loop.create_task(shutdown())

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, on_signal)

    server = Server(
        app,
        endpoints=[endpoint],
        signal_handlers=False,
        websocket_timeout=-1,
        ready_callable=ready,
    )
    server.run()
    if not server.listening_addresses:
        raise OSError(f"could not listen on {endpoint}")


def _accept_deflate(offers: list[Any]) -> Any:
    from autobahn.websocket.compress import PerMessageDeflateOffer, PerMessageDeflateOfferAccept

    for offer in offers:
        if isinstance(offer, PerMessageDeflateOffer):
            return PerMessageDeflateOfferAccept(offer)  # type: ignore[no-untyped-call]  # autobahn has no hints
    return None


async def _close_daphne_websockets(server: Any) -> None:
    from daphne.ws_protocol import WebSocketProtocol

    sockets = [p for p in server.connections if isinstance(p, WebSocketProtocol) and p.state == p.STATE_OPEN]
    for protocol in sockets:
        protocol.sendClose(code=NORMAL_CLOSURE)
    apps = [server.connections.get(p, {}).get("application_instance") for p in sockets]
    pending = [app for app in apps if app is not None and not app.done()]
    if pending:
        await asyncio.wait(pending, timeout=CLOSE_GRACE)


# --- shared -------------------------------------------------------------------------------------------


async def _finish(metrics_server: asyncio.Server | None) -> None:
    """After the clients are gone: stop the gateway (a no-op after the lifespan shutdown), then metrics."""
    await stop_gateway(CLOSE_GRACE)
    if metrics_server is not None:
        metrics_server.close()
        await metrics_server.wait_closed()
    logger.info("Gateway stopped")


def _cache_counts() -> tuple[int, int]:
    """(cached resource names, the sum of their reference counts), as resgate reports them."""
    subscriptions = list(get_gateway().cache.event_subscriptions.values())
    return len(subscriptions), sum(es.count for es in subscriptions)


def _ssl_context(config: GatewaySettings) -> ssl.SSLContext | None:
    if not config.tls:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(config.cert_file, config.key_file)
    return context


async def start_metrics_server(config: GatewaySettings) -> asyncio.Server | None:
    """Serve OpenMetrics text at ``/metrics`` on ``metricsPort`` (None when it is 0 or cannot listen)."""
    if not config.metrics_port:
        return None
    try:
        server = await asyncio.start_server(
            _metrics_connection, config.addr or None, config.metrics_port, ssl=_ssl_context(config)
        )
    except OSError as e:
        logger.error("Metrics server can't listen on port %s: %s", config.metrics_port, e)
        return None
    scheme = "https" if config.tls else "http"
    logger.info("Metrics endpoint listening on %s://%s:%s/metrics", scheme, config.addr, config.metrics_port)
    return server


async def _metrics_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """One HTTP/1.x exchange: ``GET /metrics`` (or HEAD) answers the metrics, then the connection closes."""
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        method, target, _ = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError, OSError):
        writer.close()
        return
    content_type, extra = metrics.CONTENT_TYPE, ""
    if target.split("?", 1)[0] != "/metrics":
        status, body, content_type = "404 Not Found", b"404 page not found\n", "text/plain; charset=utf-8"
    elif method not in ("GET", "HEAD"):
        status, body, content_type = "405 Method Not Allowed", b"", "text/plain; charset=utf-8"
        extra = "Allow: GET, HEAD\r\n"
    else:
        status, body = "200 OK", metrics.render(cache=_cache_counts())
    head_out = (
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
        f"{extra}Connection: close\r\n\r\n"
    )
    writer.write(head_out.encode() + (b"" if method == "HEAD" else body))
    try:
        await writer.drain()
    finally:
        writer.close()
