"""Writing to the outbox from Python, in the writing transaction: messages ride with the change behind them.

The ORM's signal handlers compute exact events inside the transaction (``res_bridge.events``) and
:func:`attach` them to the row the table's trigger just wrote, so the relay sends them instead of
computing its own: one change, one set of events. Messages with no captured row (revocation, the
announce API, a table whose trigger is missing) go in a row of their own (:func:`write`).

Messages are stored as ``[subject, payload]`` with the payload as text; a query event is stored as
``[subject, None]`` and gets a fresh query subject when the relay sends it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import connections, transaction
from django.db.models import Max, Subquery

from res_protocol import dumps

from .models import OutboxAttempt, OutboxEntry
from .registry import Relation
from .triggers import OUTBOX, through_keys

Message = tuple[str, bytes]
Stored = list[list[str | None]]


def encode(messages: Iterable[Message], query_names: Iterable[str] = ()) -> Stored:
    stored: Stored = [[subject, data.decode()] for subject, data in messages]
    return stored + [[f"event.{name}.query", None] for name in query_names]


def write(using: str, messages: Stored) -> None:
    """A row of messages of its own."""
    if messages:
        OutboxEntry.objects.using(using).create(op=OutboxEntry.MESSAGES, messages=messages)


def attach(using: str, table: str, key: str, messages: Stored) -> None:
    """Attach ``messages`` to the latest captured change of one row (a row of their own if there is none)."""
    connection = connections[using]
    value = "CAST(%s AS jsonb)" if connection.vendor == "postgresql" else "%s"
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {OUTBOX} SET messages = {value} "
            f"WHERE id = (SELECT max(id) FROM {OUTBOX} WHERE tbl = %s AND row_key = %s)",
            [dumps(messages).decode(), table, key],
        )
        attached = cursor.rowcount
    if not attached:
        write(using, messages)


def cover(using: str, table: str, keys: Iterable[str], messages: Stored) -> None:
    """Mark the latest captured change of each row as sent by ``messages``, in a row of their own."""
    keys = list(keys)
    if keys:
        rows = OutboxEntry.objects.using(using)
        latest = rows.filter(table=table, key__in=keys).values("key").annotate(last=Max("id")).values("last")
        rows.filter(id__in=Subquery(latest)).update(messages=[])
    write(using, messages)


def clear(using: str) -> None:
    """Empty the outbox as a relay would (no marker of lost rows): after ``flush`` emptied the rest."""
    connection = connections[using]
    with transaction.atomic(using=using), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT set_config('res_bridge.relay', 'on', true)")  # no marker of lost rows
        else:
            cursor.execute(f"UPDATE {OUTBOX} SET claimed = 0")
        cursor.execute(f"DELETE FROM {OUTBOX}")
        cursor.execute(f"DELETE FROM {OutboxAttempt._meta.db_table}")


def row_key(field: Any, value: Any, using: str) -> str:
    """A column value as the trigger writes it into ``row_key``."""
    return str(field.get_db_prep_value(value, connections[using]))


def through_key(relation: Relation, owner_pk: Any, item_pk: Any, using: str) -> str:
    """The outbox key of the through-table row linking ``owner_pk`` and ``item_pk``."""
    first, second = through_keys(relation.through._meta)  # type: ignore[union-attr]
    pair = (owner_pk, item_pk) if first.related_model is relation.owner.model else (item_pk, owner_pk)
    return f"{row_key(first, pair[0], using)}:{row_key(second, pair[1], using)}"
