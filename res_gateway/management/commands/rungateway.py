"""``manage.py rungateway``: run the RES gateway with resgate's command-line flags and config file.

Precedence, highest first: flags, the ``--config`` JSON file, ``settings.RES_GATEWAY``, resgate's
defaults. A ``--config`` file that does not exist is written with the resulting config, as resgate does.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from res_gateway import server
from res_gateway.conf import RESGATE_DEFAULTS, RESGATE_VERSION, ConfigError, GatewaySettings, gateway_settings
from res_gateway.gateway import nats_tls
from res_protocol import PROTOCOL_VERSION, __version__
from res_protocol.console import log_to_console, verbosity_level

logger = logging.getLogger("res_gateway")


@dataclass(frozen=True)
class Flag:
    """One resgate flag: its long name, config key, short form and how its value is read."""

    name: str
    key: str
    help: str
    short: str = ""
    kind: str = "str"  # str | optional (empty means null) | int | port (0 leaves it) | bool | list | origins
    metavar: str = ""


FLAGS = (
    Flag("nats", "natsUrl", "NATS Server URL (default: nats://127.0.0.1:4222)", "-n", metavar="URL"),
    Flag("addr", "addr", "Bind to HOST address (default: 0.0.0.0)", "-i", metavar="HOST"),
    Flag("port", "port", "HTTP port for client connections (default: 8080)", "-p", "port", "PORT"),
    Flag("wspath", "wsPath", "WebSocket path for clients (default: /)", "-w", metavar="PATH"),
    Flag("apipath", "apiPath", "Web resource path for clients (default: /api/)", "-a", metavar="PATH"),
    Flag("reqtimeout", "requestTimeout", "Timeout for NATS requests in milliseconds (default: 3000)", "-r",
         "int", "MILLISECONDS"),
    Flag("headauth", "headerAuth", "Resource method for header authentication", "-u", "optional", "METHOD"),
    Flag("wsheadauth", "wsHeaderAuth", "Resource method for WebSocket header authentication", "-t",
         "optional", "METHOD"),
    Flag("metricsport", "metricsPort", "HTTP port for OpenMetrics connections (default: disabled)", "-m",
         "port", "PORT"),
    Flag("apiencoding", "apiEncoding", "Encoding for web resources: json, jsonflat (default: json)",
         metavar="TYPE"),
    Flag("putmethod", "putMethod", "Call method name mapped to HTTP PUT requests", kind="optional",
         metavar="NAME"),
    Flag("deletemethod", "deleteMethod", "Call method name mapped to HTTP DELETE requests", kind="optional",
         metavar="NAME"),
    Flag("patchmethod", "patchMethod", "Call method name mapped to HTTP PATCH requests", kind="optional",
         metavar="NAME"),
    Flag("wscompression", "wsCompression", "Enable WebSocket per message compression", kind="bool"),
    Flag("resetthrottle", "resetThrottle", "Limit on parallel requests sent in response to a system reset",
         kind="int", metavar="LIMIT"),
    Flag("referencethrottle", "referenceThrottle",
         "Limit on parallel requests sent when following resource references", kind="int", metavar="LIMIT"),
    Flag("tls", "tls", "Enable TLS for HTTP (default: false)", kind="bool"),
    Flag("tlscert", "certFile", "HTTP server certificate file", metavar="FILE"),
    Flag("tlskey", "keyFile", "Private key for HTTP server certificate", metavar="FILE"),
    Flag("creds", "natsCreds", "NATS User Credentials file", metavar="FILE"),
    Flag("natscert", "natsCert", "NATS Client certificate file", metavar="FILE"),
    Flag("natskey", "natsKey", "NATS Client certificate key file", metavar="FILE"),
    Flag("natsrootca", "natsRootCAs", "NATS Root CA file (repeatable)", kind="list", metavar="FILE"),
    Flag("alloworigin", "allowOrigin",
         "Allowed origin: *, or <scheme>://<hostname>[:<port>] (repeatable; default: *)", kind="origins",
         metavar="ORIGIN"),
    Flag("debug", "debug", "Enable debugging output", "-D", "bool"),
    Flag("trace", "trace", "Enable trace logging of every WebSocket and NATS message", "-V", "bool"),
    Flag("server", "server", "ASGI server: uvicorn or daphne (default: uvicorn)", metavar="NAME"),
    Flag("maxrequestsinflight", "maxRequestsInFlight",
         "Requests one WebSocket client may have unanswered; 0 for no limit (default: 256)", kind="int",
         metavar="LIMIT"),
    Flag("maxsubscriberate", "maxSubscribeRate",
         "New subscriptions a second per WebSocket client; 0 for no limit (default: 200)", kind="int",
         metavar="LIMIT"),
)  # fmt: skip


class Command(BaseCommand):
    help = "Run the RES gateway (a resgate replacement) with resgate's flags; -DV enables debug and trace."
    requires_system_checks: list[str] = []  # checked in handle(), once the config is known to be valid

    def get_version(self) -> str:
        return f"resgate v{RESGATE_VERSION}, protocol v{PROTOCOL_VERSION}"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "-c", "--config", metavar="FILE", help="Configuration file (JSON, resgate's keys)"
        )
        parser.add_argument("--skip-checks", action="store_true", help="Skip system checks.")
        parser.add_argument(
            "--workers",
            type=int,
            metavar="N",
            help="Processes serving the port, each with its own cache and NATS connection "
            f"(default: one per two cores, {server.default_workers()} here; 1 with daphne). On 2 cores "
            "shared with NATS and the services, 1 worker subscribed and served GETs faster, with less CPU "
            "and memory, than 2 (docs/gateway-config.md, Workers)",
        )
        for flag in FLAGS:
            names = [flag.short, f"--{flag.name}"] if flag.short else [f"--{flag.name}"]
            if flag.kind == "bool":
                parser.add_argument(*names, dest=flag.name, action="store_true", default=None, help=flag.help)
            elif flag.kind in ("list", "origins"):
                parser.add_argument(
                    *names, dest=flag.name, action="append", metavar=flag.metavar, help=flag.help
                )
            else:
                parser.add_argument(*names, dest=flag.name, metavar=flag.metavar, help=flag.help)

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["config"]) if options["config"] else None
        from_file = read_config_file(path) if path else None
        base = getattr(settings, "RES_GATEWAY", {})
        if not isinstance(base, dict):
            raise CommandError("settings.RES_GATEWAY must be a dict of resgate's config keys")
        config = {**base, **(from_file or {}), **flag_overrides(options)}
        try:
            gateway = GatewaySettings.from_config(config)
            nats_tls(gateway)  # unreadable NATS TLS files stop the command before it listens
        except ConfigError as e:
            raise CommandError(str(e))
        if gateway.tls and not (gateway.cert_file and gateway.key_file):
            raise CommandError("--tls needs both a certificate (--tlscert) and a key (--tlskey)")
        workers = worker_count(options["workers"], gateway.server)
        if path and from_file is None:
            write_config_file(path, gateway)
        verbosity = options["verbosity"]
        set_log_levels(gateway.debug or verbosity >= 2, gateway.trace or verbosity >= 3)
        level = verbosity_level(verbosity)
        log_to_console({"res_gateway": level, "uvicorn.error": max(level, logging.WARNING)}, self.stderr)
        logger.debug("Config: %s", json.dumps(gateway.raw))
        if not options["skip_checks"]:
            self.check(display_num_errors=False)
        scheme = "https" if gateway.tls else "http"
        logger.info(
            "Starting gateway (django-res %s, resgate v%s, protocol v%s) with %s on %s://%s:%d, NATS %s",
            __version__, RESGATE_VERSION, PROTOCOL_VERSION, gateway.server, scheme, gateway.addr,
            gateway.port, gateway.nats_url,
        )  # fmt: skip
        logger.info("WebSocket clients at path %s, the REST API under %s", gateway.ws_path, gateway.api_path)
        try:
            server.serve(gateway_settings.configure(config), workers=workers)
        except OSError as e:
            raise CommandError(f"Failed to start server: {e}")
        except server.WorkerFailed as e:
            raise CommandError(f"Gateway stopped: {e}")


def worker_count(asked: int | None, server_name: str) -> int:
    """The worker processes to run: as asked (at least 1), else one per two cores with uvicorn."""
    if asked is None:
        return 1 if server_name == "daphne" else server.default_workers()
    if asked < 1:
        raise CommandError(f"invalid value {asked} for flag --workers: must be at least 1")
    if asked > 1 and server_name == "daphne":
        raise CommandError("--workers above 1 needs the uvicorn server")
    return asked


def flag_overrides(options: dict[str, Any]) -> dict[str, Any]:
    """The config keys set by the flags given on the command line, read as resgate reads them."""
    config: dict[str, Any] = {}
    for flag in FLAGS:
        value = options.get(flag.name)
        if value is None:
            continue
        if flag.kind in ("int", "port"):
            try:
                value = int(value)
            except ValueError:
                raise CommandError(f"invalid value {value!r} for flag --{flag.name}: must be an integer")
            if flag.kind == "port" and value == 0:
                continue
        elif flag.kind == "optional":
            value = value or None
        elif flag.kind == "origins":
            value = ";".join(value)
        config[flag.key] = value
    return config


def read_config_file(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path``, or None when the file does not exist."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise CommandError(f"Error loading config file: {e}")
    try:
        config = json.loads(text)
    except ValueError as e:
        raise CommandError(f"Error parsing config file {path}: {e}")
    if not isinstance(config, dict):
        raise CommandError(f"Error parsing config file {path}: expected a JSON object")
    return config


def write_config_file(path: Path, gateway: GatewaySettings) -> None:
    """Write resgate's keys with their values in use, as resgate does for a config file not found."""
    config = {key: gateway.raw[key] for key in RESGATE_DEFAULTS}
    try:
        path.write_text(json.dumps(config, indent="\t"))
    except OSError as e:
        raise CommandError(f"Error writing config file: {e}")
    path.chmod(0o664)


def set_log_levels(debug: bool, trace: bool) -> None:
    """``debug`` shows the gateway's debug messages; ``trace`` every WS and NATS message (logger
    ``res_gateway.trace``, at debug level)."""
    logging.getLogger("res_gateway").setLevel(logging.DEBUG if debug else logging.INFO)
    logging.getLogger("res_gateway.trace").setLevel(logging.DEBUG if trace else logging.INFO)
