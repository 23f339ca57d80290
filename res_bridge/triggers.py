"""Change capture in the database: triggers that write every change of a served table to the outbox.

Each registered model's table, and the through table of each many-to-many relation, gets triggers
(PostgreSQL and SQLite) that insert a row into ``res_bridge_outbox`` in the writing transaction, for
whatever wrote it: the ORM, ``QuerySet.update``, ``bulk_create``, raw SQL, another program. On
PostgreSQL a truncation is captured too, and every capture sends ``NOTIFY res_bridge_outbox``.
The outbox itself gets a trigger that leaves a marker when rows vanish that no relay sent.

A trigger's name carries a digest of its definition, so a trigger whose table, columns or code
changed is told from a current one by name alone: :func:`status` finds missing and stale triggers,
:func:`sync` replaces them. ``migrate`` runs :func:`sync` (a ``post_migrate`` handler); so does
``manage.py resoutbox sync``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import models, transaction

from .models import OutboxEntry
from .registry import Registry, registry

PREFIX = "res_bridge_"
CHANNEL = "res_bridge_outbox"
OUTBOX = OutboxEntry._meta.db_table

#: PostgreSQL: one function for every captured table; the key columns are the trigger's arguments.
PG_CAPTURE = f"""
CREATE OR REPLACE FUNCTION res_bridge_capture() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  old_row jsonb;
  new_row jsonb;
  row_key text;
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    INSERT INTO {OUTBOX} (tbl, row_key, op) VALUES (TG_TABLE_NAME, '', 'T');
  ELSE
    IF TG_OP <> 'INSERT' THEN old_row := to_jsonb(OLD); END IF;
    IF TG_OP <> 'DELETE' THEN new_row := to_jsonb(NEW); END IF;
    row_key := coalesce(new_row, old_row) ->> TG_ARGV[0];
    IF TG_NARGS > 1 THEN
      row_key := row_key || ':' || (coalesce(new_row, old_row) ->> TG_ARGV[1]);
    END IF;
    INSERT INTO {OUTBOX} (tbl, row_key, op, old, new)
      VALUES (TG_TABLE_NAME, row_key, left(TG_OP, 1), old_row, new_row);
  END IF;
  RETURN NULL;
END $$;
"""

#: PostgreSQL: every statement that adds rows to the outbox, or events to its rows, wakes the relays.
PG_NOTIFY = f"""
CREATE OR REPLACE FUNCTION res_bridge_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('{CHANNEL}', '');
  RETURN NULL;
END $$;
"""

#: PostgreSQL: rows deleted from the outbox by anyone but a relay (which sets ``res_bridge.relay``).
PG_LOST = f"""
CREATE OR REPLACE FUNCTION res_bridge_outbox_lost() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    IF current_setting('res_bridge.relay', true) = 'on'
       OR NOT EXISTS (SELECT 1 FROM gone WHERE op <> 'L') THEN
      RETURN NULL;
    END IF;
  END IF;
  INSERT INTO {OUTBOX} (tbl, row_key, op)
    SELECT '', '', 'L' WHERE NOT EXISTS (SELECT 1 FROM {OUTBOX} WHERE op = 'L');
  RETURN NULL;
END $$;
"""


@dataclass(frozen=True)
class Captured:
    """A table whose changes go to the outbox: its key columns, and the columns a row holds."""

    table: str
    key_columns: tuple[str, ...]
    columns: tuple[str, ...]


@dataclass(frozen=True)
class Trigger:
    name: str
    table: str
    sql: tuple[str, ...]


def captured_tables(reg: Registry = registry) -> list[Captured]:
    """The tables of the registered models and of their many-to-many relations, each once."""
    found: dict[str, Captured] = {}
    for resource in reg.resources:
        opts = resource.model._meta
        # A concrete field's column is never None; django-stubs types every field's column str | None.
        found.setdefault(opts.db_table, _captured(opts, (opts.pk.column,)))  # type: ignore[arg-type]
    for relation in reg.relations:
        if relation.through is not None:
            opts = relation.through._meta
            columns = tuple(f.column for f in through_keys(opts))
            found.setdefault(opts.db_table, _captured(opts, columns))  # type: ignore[arg-type]  # as above
    return list(found.values())


def through_keys(opts: Any) -> list[models.Field[Any, Any]]:
    """The foreign keys of a through table, in the order its outbox key joins them (``<a>:<b>``)."""
    return [f for f in opts.concrete_fields if f.is_relation][:2]


def _captured(opts: Any, key_columns: tuple[str, ...]) -> Captured:
    columns = tuple(f.column for f in opts.concrete_fields if not isinstance(f, models.BinaryField))
    return Captured(opts.db_table, key_columns, columns)


# -- definitions ----------------------------------------------------------------------------------


def expected(connection: Any, reg: Registry = registry) -> list[Trigger]:
    """Every trigger the registry needs on this database."""
    if connection.vendor == "postgresql":
        return _postgresql(connection, reg)
    if connection.vendor == "sqlite":
        return _sqlite(connection, reg)
    return []


def _named(table: str, what: str, sql: Iterable[str]) -> Trigger:
    sql = tuple(sql)
    digest = hashlib.sha1("\n".join(sql).encode()).hexdigest()[:16]
    name = f"{PREFIX}{what}_{digest}"
    return Trigger(name, table, tuple(s.replace("{name}", name) for s in sql))


def _postgresql(connection: Any, reg: Registry) -> list[Trigger]:
    q = connection.ops.quote_name
    triggers = []
    for captured in captured_tables(reg):
        args = ", ".join(f"'{c}'" for c in captured.key_columns)
        on = f"ON {q(captured.table)}"
        triggers += [
            _pg(
                captured.table,
                "i",
                PG_CAPTURE,
                f"AFTER INSERT OR DELETE {on} FOR EACH ROW",
                f"capture({args})",
            ),
            _pg(
                captured.table,
                "u",
                PG_CAPTURE,
                f"AFTER UPDATE {on} FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*)",
                f"capture({args})",
            ),
            _pg(captured.table, "t", PG_CAPTURE, f"AFTER TRUNCATE {on}", "capture()"),
        ]
    on = f"ON {q(OUTBOX)}"
    return triggers + [
        _pg(OUTBOX, "lost", PG_LOST, f"AFTER DELETE {on} REFERENCING OLD TABLE AS gone", "outbox_lost()"),
        _pg(OUTBOX, "trunc", PG_LOST, f"AFTER TRUNCATE {on}", "outbox_lost()"),
        _pg(OUTBOX, "notify", PG_NOTIFY, f"AFTER INSERT OR UPDATE {on}", "outbox_notify()"),
    ]


def _pg(table: str, what: str, function: str, when: str, call: str) -> Trigger:
    return _named(
        table, what, (function, f"CREATE TRIGGER {{name}} {when} EXECUTE FUNCTION res_bridge_{call}")
    )


def _sqlite(connection: Any, reg: Registry) -> list[Trigger]:
    q = connection.ops.quote_name
    outbox = q(OUTBOX)
    triggers = []
    for captured in captured_tables(reg):

        def row(which: str, captured: Captured = captured) -> str:
            return "json_object(" + ", ".join(f"'{c}', {which}.{q(c)}" for c in captured.columns) + ")"

        def insert(op: str, which: str, old: str, new: str, captured: Captured = captured) -> str:
            key = " || ':' || ".join(f"CAST({which}.{q(c)} AS TEXT)" for c in captured.key_columns)
            return (
                f"INSERT INTO {outbox} (tbl, row_key, op, old, new) "
                f"VALUES ('{captured.table}', {key}, '{op}', {old}, {new});"
            )

        changed = " OR ".join(f"OLD.{q(c)} IS NOT NEW.{q(c)}" for c in captured.columns)
        on = q(captured.table)
        triggers += [
            _lite(captured.table, "i", f"AFTER INSERT ON {on}", insert("I", "NEW", "NULL", row("NEW"))),
            _lite(
                captured.table,
                "u",
                f"AFTER UPDATE ON {on} WHEN {changed}",
                insert("U", "NEW", row("OLD"), row("NEW")),
            ),
            _lite(captured.table, "d", f"AFTER DELETE ON {on}", insert("D", "OLD", row("OLD"), "NULL")),
        ]
    lost = (
        f"INSERT INTO {outbox} (tbl, row_key, op) SELECT '', '', 'L' "
        f"WHERE NOT EXISTS (SELECT 1 FROM {outbox} WHERE op = 'L');"
    )
    when = f"AFTER DELETE ON {outbox} WHEN OLD.claimed IS NULL AND OLD.op <> 'L'"
    return [*triggers, _lite(OUTBOX, "lost", when, lost)]


def _lite(table: str, what: str, when: str, body: str) -> Trigger:
    return _named(table, what, [f"CREATE TRIGGER {{name}} {when} BEGIN {body} END"])


# -- what is installed -------------------------------------------------------------------------------


def installed(connection: Any) -> dict[str, str]:
    """Our triggers in the database: name → table."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT t.tgname, c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE NOT t.tgisinternal AND t.tgname LIKE %s AND pg_table_is_visible(c.oid)",
                [PREFIX.replace("_", r"\_") + "%"],
            )
        elif connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name, tbl_name FROM sqlite_master "
                "WHERE type = 'trigger' AND name LIKE %s ESCAPE '\\'",
                [PREFIX.replace("_", r"\_") + "%"],
            )
        else:
            return {}
        return dict(cursor.fetchall())


@dataclass
class Status:
    missing: list[Trigger]
    stale: dict[str, str]  # name → table

    @property
    def current(self) -> bool:
        return not self.missing and not self.stale


def status(connection: Any, reg: Registry = registry) -> Status:
    """Missing triggers (on tables that exist, once the outbox does), and stale ones (any not expected)."""
    tables = set(connection.introspection.table_names())
    present = installed(connection)
    wanted = [t for t in expected(connection, reg) if t.table in tables] if OUTBOX in tables else []
    names = {t.name for t in wanted}
    return Status(
        [t for t in wanted if t.name not in present],
        {name: table for name, table in present.items() if name not in names},
    )


def sync(connection: Any, reg: Registry = registry) -> Status:
    """Drop stale triggers and create missing ones, in one transaction; return what was done."""
    with transaction.atomic(using=connection.alias):
        found = status(connection, reg)
        _drop(connection, found.stale)
        with connection.cursor() as cursor:
            for trigger in found.missing:
                for statement in trigger.sql:
                    cursor.execute(statement)
    return found


def drop(connection: Any) -> int:
    """Remove every trigger of ours; return how many."""
    present = installed(connection)
    _drop(connection, present)
    return len(present)


def _drop(connection: Any, triggers: dict[str, str]) -> None:
    q = connection.ops.quote_name
    with connection.cursor() as cursor:
        for name, table in triggers.items():
            on = f" ON {q(table)}" if connection.vendor == "postgresql" else ""
            cursor.execute(f"DROP TRIGGER IF EXISTS {q(name)}{on}")
