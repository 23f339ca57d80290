"""System checks for the registered resources (``manage.py check``, and every command's start)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from django.apps import apps
from django.conf import settings
from django.core import checks
from django.core.checks import CheckMessage, Error, register
from django.core.exceptions import FieldDoesNotExist

from res_protocol import is_valid_part
from res_protocol.environ import nats_url

from .conf import DEFAULTS, bridge_settings, server_urls
from .registry import Registry, Relation, RidTemplate, registry
from .resources import ModelResource


@register("res_bridge")
def check_resources(app_configs: Any = None, reg: Registry = registry, **kwargs: Any) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    for resource in reg.resources:
        messages += _check_rids(resource)
        messages += _check_fields(resource, reg)
        messages += _check_relations(resource, reg)
        messages += _check_ordering(resource)
    messages += _check_clashes(reg)
    return messages


@register("res_bridge")
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``RES_BRIDGE``: known keys only, and values of the right kind."""
    messages: list[CheckMessage] = []
    for key, value in bridge_settings.user_settings.items():
        if key not in DEFAULTS:
            messages.append(
                checks.Warning(
                    f"Unknown RES_BRIDGE setting {key!r}.",
                    hint=f"Known settings: {', '.join(sorted(DEFAULTS))}.",
                    id="res_bridge.W001",
                )
            )
        elif not _valid_setting(key, value):
            messages.append(
                Error(
                    f"Invalid RES_BRIDGE setting {key}={value!r}.",
                    hint=f"Expected a value like the default, {DEFAULTS[key]!r}.",
                    id="res_bridge.E007",
                )
            )
    return messages + _check_access_policy()


def _check_access_policy() -> list[CheckMessage]:
    """E008: ``ACCESS_POLICY`` names nothing importable, or something without ``decide``."""
    path = bridge_settings.user_settings.get("ACCESS_POLICY")
    if not isinstance(path, str) or not path:
        return []  # the default, or E007
    try:
        found = bridge_settings.ACCESS_POLICY
    except ImportError as e:
        problem = str(e)
    else:
        if callable(getattr(found, "decide", None)):
            return []
        problem = f"RES_BRIDGE['ACCESS_POLICY'] = {path!r} has no decide method"
    return [
        Error(
            f"{problem}.",
            hint=f"A dotted path to an access policy class, such as {DEFAULTS['ACCESS_POLICY']!r} or a "
            "subclass of it: made with the registry, with decide(request) and explain(user, rid, request).",
            id="res_bridge.E008",
        )
    ]


@register("res_bridge")
def check_nats_url(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """W020: the site's gateway settings name another NATS server than the bridge's."""
    gateway = getattr(settings, "RES_GATEWAY", None) or {}
    if not apps.is_installed("res_gateway") or not isinstance(gateway, dict):
        return []
    gateway_url = gateway.get("natsUrl") or nats_url()  # as the gateway reads its settings
    if not isinstance(gateway_url, str) or _servers(gateway_url) == _servers(bridge_settings.NATS_URL):
        return []
    return [
        checks.Warning(
            f"The gateway's NATS server ({gateway_url}) differs from the bridge's "
            f"({bridge_settings.NATS_URL}): clients would not reach this site's resources (system.notFound) "
            "unless both are in one cluster.",
            hint="Set NATS_URL in the environment and neither RES_GATEWAY['natsUrl'] nor "
            "RES_BRIDGE['NATS_URL'], or give both the same URL.",
            id="res_bridge.W020",
        )
    ]


def _servers(urls: str) -> set[tuple[str, int]]:
    """(host, port) of each URL in a comma-separated list."""
    found = set()
    for url in server_urls(urls):
        parts = urlsplit(url if "://" in url else f"nats://{url}")
        try:
            found.add(((parts.hostname or "").lower(), parts.port or 4222))
        except ValueError:  # a port that is no number: compared as written
            found.add((url, 0))
    return found


#: What a SQLite database needs for concurrent calls (Django 5.1+): writes take the lock when their
#: transaction begins, and wait for it up to ``timeout`` seconds; WAL lets reads go on meanwhile.
SQLITE_OPTIONS: dict[str, Any] = {
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
}


@register("res_bridge")
def check_sqlite(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """W021: a SQLite database opening deferred transactions fails concurrent calls ("database is locked")."""
    return [
        checks.Warning(
            f"DATABASES[{alias!r}] is SQLite without OPTIONS['transaction_mode'] = 'IMMEDIATE': concurrent "
            "calls can fail with 'database is locked'.",
            hint=f"Set DATABASES[{alias!r}]['OPTIONS'] = {SQLITE_OPTIONS!r}.",
            id="res_bridge.W021",
        )
        for alias, db in settings.DATABASES.items()
        if db.get("ENGINE") == "django.db.backends.sqlite3"
        and (db.get("OPTIONS") or {}).get("transaction_mode") != "IMMEDIATE"
    ]


@register("res_bridge")
def check_token_auth(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """I022: the ``token`` auth method needs ``rest_framework.authtoken``."""
    if apps.is_installed("rest_framework.authtoken"):
        return []
    return [
        checks.Info(
            "'rest_framework.authtoken' is not in INSTALLED_APPS: the 'token' auth method refuses every "
            "token.",
            hint="Add it to INSTALLED_APPS (and migrate) to log clients in with DRF tokens.",
            id="res_bridge.I022",
        )
    ]


def _valid_setting(key: str, value: Any) -> bool:
    default = DEFAULTS[key]
    if isinstance(default, str):
        return isinstance(value, str) and bool(value)
    kinds = (int, float) if isinstance(default, float) else (int,)
    return isinstance(value, kinds) and not isinstance(value, bool) and value > 0


def _label(resource: ModelResource) -> str:
    return type(resource).__name__


def _check_rids(resource: ModelResource) -> Iterator[CheckMessage]:
    rid = RidTemplate.parse(resource.rid)
    templates = [(resource.rid, rid, 1)]
    if resource.collection:
        templates.append((resource.collection, RidTemplate.parse(resource.collection), 0))
    templates += [(text, RidTemplate.parse(text), 1) for text in resource.relations.values()]
    for text, template, expected in templates:
        literal = [t for t in template.tokens if not t.startswith("{")]
        if len(template.params) != expected or not all(is_valid_part(t) for t in literal):
            yield Error(
                f"{_label(resource)}: invalid RID {text!r}.",
                hint="Use dot-separated parts; a model or relation RID has one placeholder such as {pk}, "
                "a collection none.",
                obj=type(resource),
                id="res_bridge.E004",
            )
        elif expected and template.params[0] != (rid.params[0] if rid.params else None):
            yield Error(
                f"{_label(resource)}: {text!r} must use the placeholder of {resource.rid!r}.",
                obj=type(resource),
                id="res_bridge.E004",
            )
    if len(rid.params) == 1 and rid.params[0] != "pk":
        try:
            resource.opts.get_field(rid.params[0])
        except FieldDoesNotExist:
            yield Error(
                f"{_label(resource)}: the placeholder {{{rid.params[0]}}} is not a field of "
                f"{resource.model.__name__}.",
                hint="Use {pk} or a unique field.",
                obj=type(resource),
                id="res_bridge.E004",
            )


def _check_fields(resource: ModelResource, reg: Registry) -> Iterator[CheckMessage]:
    declared = set(resource.serializer_class().fields) if resource.serializer_class else set()
    columns = {f.attname for f in resource.opts.concrete_fields}
    for name in resource.field_names:
        if name in resource.relations or name in declared or name in columns:
            continue
        field = resource.model_field(name)
        if field is None or field.auto_created:
            yield Error(
                f"{_label(resource)}: unknown field {name!r} in fields.",
                hint=f"Name a field of {resource.model.__name__}, a foreign key column or a relation.",
                obj=type(resource),
                id="res_bridge.E001",
            )
    for name, field in resource.reference_fields.items():
        if not reg.is_registered(field.related_model):
            yield Error(
                f"{_label(resource)}: field {name!r} refers to {field.related_model.__name__}, "
                "which has no registered resource.",
                hint=f"Register a resource for {field.related_model.__name__}, or list {field.attname!r} "
                "to send the bare key.",
                obj=type(resource),
                id="res_bridge.E003",
            )


def _check_relations(resource: ModelResource, reg: Registry) -> Iterator[CheckMessage]:
    for name in resource.relations:
        relation = Relation.of(resource, name)
        if relation is None:
            yield Error(
                f"{_label(resource)}: relation {name!r} is not a many-to-many field or a reverse foreign key "
                f"of {resource.model.__name__}.",
                hint="Name the field, or the related query name of the reverse relation.",
                obj=type(resource),
                id="res_bridge.E005",
            )
        elif not reg.is_registered(relation.item_model):
            yield Error(
                f"{_label(resource)}: relation {name!r} holds {relation.item_model.__name__}, "
                "which has no registered resource.",
                hint=f"Register a resource for {relation.item_model.__name__}.",
                obj=type(resource),
                id="res_bridge.E003",
            )


def _check_ordering(resource: ModelResource) -> Iterator[CheckMessage]:
    names = [o.removeprefix("-") for o in resource.order_by] + list(resource.query_ordering)
    names += [lookup.split("__")[0] for lookup in resource.query_filters.values()]
    for name in names:
        field = resource.model_field(name)
        if name != "pk" and (field is None or not field.concrete):
            yield Error(
                f"{_label(resource)}: {name!r} in ordering or query options is not a field of "
                f"{resource.model.__name__}.",
                hint="Order and filter by concrete fields of the model.",
                obj=type(resource),
                id="res_bridge.E006",
            )


def _check_clashes(reg: Registry) -> Iterator[CheckMessage]:
    routes = reg.routes
    for route in routes:
        other = next((o for o in routes if o is not route and _overlap(route.template, o.template)), None)
        if other is not None:
            yield Error(
                f"{_label(route.resource)}: RID {route.template.text!r} clashes with "
                f"{other.template.text!r} of {_label(other.resource)}.",
                hint="Give every model, collection and relation its own resource names.",
                obj=type(route.resource),
                id="res_bridge.E002",
            )


def _overlap(a: RidTemplate, b: RidTemplate) -> bool:
    """Whether some resource name matches both templates."""
    if len(a.tokens) != len(b.tokens):
        return False
    return all(
        x == y or x.startswith("{") or y.startswith("{") for x, y in zip(a.tokens, b.tokens, strict=True)
    )


@register("res_bridge")
def check_capture(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Change capture: every trigger the registry needs is on the default database, and current."""
    from django.db import DEFAULT_DB_ALIAS, connections

    from . import triggers

    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor not in ("postgresql", "sqlite"):
        return [
            checks.Warning(
                f"Change capture does not support {connection.vendor}: no write reaches clients.",
                hint="Use PostgreSQL or SQLite.",
                id="res_bridge.W011",
            )
        ]
    try:
        found = triggers.status(connection)
    except Exception:  # noqa: BLE001 - no database to look at (yet): nothing to say about it
        return []
    if found.current:
        return []
    names = sorted({t.table for t in found.missing} | set(found.stale.values()))
    return [
        checks.Warning(
            f"Change capture triggers are missing ({len(found.missing)}) or stale ({len(found.stale)}) on "
            f"{', '.join(names)}: writes there may not reach clients, or be sent as resets.",
            hint="Run manage.py migrate, or manage.py resoutbox sync.",
            id="res_bridge.W010",
        )
    ]
