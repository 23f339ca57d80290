"""RES events for every committed change: change/add/remove/delete/query events, in commit order.

Every write to a served table is captured by a database trigger into the outbox (``res_bridge.triggers``),
and the relay (``res_bridge.relay``) sends what the outbox holds after the transaction commits.

- Writes through the ORM's signals: indexes are computed when the signal fires, inside the transaction,
  so a sequence of writes yields a sequence of events that applies in order; the events are attached to
  the trigger's outbox row (``res_bridge.outbox``), and the relay sends them instead of its own.
- Writes the signals miss (``QuerySet.update``, ``bulk_create``, raw SQL, other programs):
  :func:`captured` turns the trigger's row into exact change and delete events, and ``system.reset`` of
  the collections whose membership or order it changed (gateways then send clients the exact differences),
  and query events for query collections.

A rolled-back transaction leaves no outbox rows, so it publishes nothing.
"""

from __future__ import annotations

import logging
import time
import uuid
from functools import partial, reduce, wraps
from operator import or_
from typing import Any

from django.db import models, router, transaction
from django.db.models.signals import m2m_changed, post_delete, post_init, post_save, pre_delete

from res_protocol import dumps, ref

from . import outbox, publisher
from .conf import bridge_settings
from .models import OutboxEntry
from .registry import Registry, Relation, registry
from .resources import ModelResource
from .triggers import through_keys

QUERY_SUBJECT_PREFIX = "_RES_BRIDGE.query"

logger = logging.getLogger(__name__)

Message = tuple[str, bytes]
State = dict[str, Any]

_STATE = "_res_state"
_PENDING = "_res_pending"


# -- signal wiring ------------------------------------------------------------------------------


def connect_signals(reg: Registry = registry) -> None:
    """Connect the handlers for every model ``reg`` serves, computing events with ``reg`` (idempotent)."""
    for resource in reg.resources:
        model = resource.model
        _atomic_saves(model, reg)
        post_init.connect(_remember, sender=model, dispatch_uid=f"res_bridge.{model._meta.label}")
        for signal, handler in ((post_save, _saved), (pre_delete, _deleting), (post_delete, _deleted)):
            signal.connect(partial(handler, reg), sender=model, weak=False, dispatch_uid=_uid(reg, model))
    for relation in reg.relations:
        if relation.through is not None:
            m2m_changed.connect(
                partial(_m2m_changed, reg), sender=relation.through, weak=False, dispatch_uid=_uid(reg)
            )


def disconnect_signals(reg: Registry = registry) -> None:
    """Disconnect what :func:`connect_signals` connected for ``reg`` (row state is still remembered)."""
    for resource in reg.resources:
        for signal in (post_save, pre_delete, post_delete):
            signal.disconnect(sender=resource.model, dispatch_uid=_uid(reg, resource.model))
    for relation in reg.relations:
        if relation.through is not None:
            m2m_changed.disconnect(sender=relation.through, dispatch_uid=_uid(reg))


def _uid(reg: Registry, model: type[models.Model] | None = None) -> str:
    return f"res_bridge.{id(reg)}.{model._meta.label if model else 'm2m'}"


def _atomic_saves(model: type[models.Model], reg: Registry) -> None:
    """Run the model's saves that may add, remove or move the row in collections in a transaction (without a
    savepoint, as Django does for models with parents), so that the trigger's outbox row and the events the
    signal handler attaches to it commit together. Other saves need no events from the handler."""
    original = model.save_base
    if getattr(original, "res_atomic", False):
        return

    @wraps(original)
    def save_base(self: models.Model, *args: Any, **kwargs: Any) -> Any:
        resource = reg.resource_for(model)  # also for subclasses, such as proxy models
        if not self._state.adding and not _may_move(resource, self.__dict__.get(_STATE), self.__dict__):
            return original(self, *args, **kwargs)
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        with transaction.atomic(using=using, savepoint=False):
            return original(self, *args, **kwargs)

    save_base.res_atomic = True  # type: ignore[attr-defined]
    model.save_base = save_base  # type: ignore[method-assign]


def state_of(instance: models.Model) -> State:
    """The instance's loaded column values (deferred ones left out)."""
    values = instance.__dict__
    return {f.attname: values[f.attname] for f in instance._meta.concrete_fields if f.attname in values}


def _remember(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    instance.__dict__[_STATE] = state_of(instance)


def _saved(
    reg: Registry,
    sender: type[models.Model],
    instance: models.Model,
    created: bool,
    raw: bool = False,
    using: str = "default",
    **kw: Any,
) -> None:
    if raw:
        return
    resource = reg.resource_for(sender)
    old: State = instance.__dict__.get(_STATE, {})
    new = state_of(instance)
    instance.__dict__[_STATE] = new
    if created:
        messages = _moves(resource, instance, None, new)
    else:
        moves = _moves(resource, instance, old, new) if _may_move(resource, old, new) else []
        if not moves:
            return  # the relay computes the change event from the captured row, as it would here
        changed = {a for a, v in new.items() if a not in old or old[a] != v}
        messages = _change(resource, instance, changed) + moves
    opts = resource.opts
    stored = outbox.encode(messages, _query_names(resource))
    outbox.attach(using, opts.db_table, outbox.row_key(opts.pk, instance.pk, using), stored)


def _deleting(
    reg: Registry, sender: type[models.Model], instance: models.Model, using: str = "default", **kw: Any
) -> None:
    """Before the row goes: its places in many-to-many collections (their rows vanish silently)."""
    item = reg.resource_for(sender)
    removes, links = [], []
    for relation in reg.relations:
        if relation.through is None or not issubclass(sender, relation.item_model):
            continue
        owners = relation.owner.model._default_manager.filter(**{relation.owner_lookup: instance.pk})
        for owner_pk in owners.values_list("pk", flat=True):
            queryset = relation.items(owner_pk, item)
            removes.append(
                _remove(
                    relation.rid(_key(relation.owner, owner_pk)), _index(item, queryset, instance.__dict__)
                )
            )
            links.append((relation, owner_pk))
    instance.__dict__[_PENDING] = removes, links


def _deleted(
    reg: Registry, sender: type[models.Model], instance: models.Model, using: str = "default", **kw: Any
) -> None:
    resource = reg.resource_for(sender)
    old = instance.__dict__.get(_STATE) or state_of(instance)
    messages, links = instance.__dict__.pop(_PENDING, ([], []))
    messages += _moves(resource, instance, old, None)
    key = getattr(instance, resource.lookup)
    messages += [(f"event.{resource.relation_rid(name, key)}.delete", b"") for name in resource.relations]
    messages.append((f"event.{resource.rid_for(key)}.delete", b""))
    for relation, owner_pk in links:  # its through rows went before it, without signals
        through = relation.through._meta.db_table
        outbox.cover(using, through, [outbox.through_key(relation, owner_pk, instance.pk, using)], [])
    opts = resource.opts
    stored = outbox.encode(messages, _query_names(resource))
    outbox.attach(using, opts.db_table, outbox.row_key(opts.pk, instance.pk, using), stored)


def _m2m_changed(
    reg: Registry,
    sender: type[models.Model],
    instance: models.Model,
    action: str,
    pk_set: set[Any] | None,
    using: str = "default",
    **kw: Any,
) -> None:
    phase, _, what = action.partition("_")
    pending: dict[tuple[int, Any], list[tuple[Any, Any]]] = instance.__dict__.setdefault("_res_m2m", {})
    messages: list[Message] = []
    links: list[str] = []
    for relation in reg.relations:
        if relation.through is not sender:
            continue
        item = reg.resource_for(relation.item_model)
        if isinstance(instance, relation.owner.model):
            owners = [instance.pk]
        elif phase == "pre" and what == "clear":
            owners = list(
                relation.owner.model._default_manager.filter(
                    **{relation.owner_lookup: instance.pk}
                ).values_list("pk", flat=True)
            )
        else:
            owners = list(pk_set or ())
        slots = [(id(relation), owner_pk) for owner_pk in owners]
        if phase == "post" and what == "clear":
            slots += [s for s in pending if s[0] == id(relation) and s not in slots]
        for slot in slots:
            owner_pk = slot[1]
            rows = _members(relation, owner_pk, item)
            if phase == "pre":
                pending[slot] = rows
            elif slot in pending:
                before = pending.pop(slot)
                name = relation.rid(_key(relation.owner, owner_pk))
                messages += _diff(name, item, [k for _, k in before], [k for _, k in rows])
                moved = {pk for pk, _ in before} ^ {pk for pk, _ in rows}
                links += [outbox.through_key(relation, owner_pk, pk, using) for pk in moved]
    if phase == "post":
        outbox.cover(using, sender._meta.db_table, links, outbox.encode(messages))


def _members(relation: Relation, owner_pk: Any, item: ModelResource) -> list[tuple[Any, Any]]:
    """(pk, RID key) of the rows one owner holds, in the collection's order."""
    rows = relation.items(owner_pk, item)
    if item.lookup == "pk":
        return [(pk, pk) for pk in rows.values_list("pk", flat=True)]
    return list(rows.values_list("pk", item.lookup))


# -- computing events ---------------------------------------------------------------------------


def _change(resource: ModelResource, instance: models.Model, changed: set[str]) -> list[Message]:
    values = {}
    for name in resource.field_names:
        field = resource.model_field(name)
        attname = field.attname if field is not None and field.concrete else name
        if attname in changed:
            values[name] = resource.value_of(instance, name)
    if not values:
        return []
    return [(f"event.{resource.rid_for(instance)}.change", dumps({"values": values}))]


def _places(resource: ModelResource, state: State | None) -> dict[str, models.QuerySet[models.Model]]:
    """The collections a row with column values ``state`` belongs to: name → that collection's rows."""
    return {
        name: resource.get_queryset() if relation is None else relation.items(owner_pk, resource)
        for name, relation, owner_pk in _holders(resource, state)
    }


def _holders(resource: ModelResource, state: State | None) -> list[tuple[str, Relation | None, Any]]:
    """The collections a row with column values ``state`` belongs to: (name, relation or None, owner's pk)."""
    if state is None:
        return []
    found: list[tuple[str, Relation | None, Any]] = (
        [(resource.collection, None, None)] if resource.collection else []
    )
    for relation in resource.registry.relations:
        if relation.fk_attname and issubclass(resource.model, relation.item_model):
            owner_pk = state.get(relation.fk_attname)
            if owner_pk is not None:
                found.append((relation.rid(_key(relation.owner, owner_pk)), relation, owner_pk))
    return found


def _moves(
    resource: ModelResource, instance: models.Model, old: State | None, new: State | None
) -> list[Message]:
    """Remove and add events for a row whose column values went from ``old`` to ``new``."""
    pk = instance.pk
    before, after = _places(resource, old), _places(resource, new)
    value = ref(resource.rid_for(instance))
    messages = []
    moved = old is None or new is None or _sort_key(resource, old) != _sort_key(resource, new)
    for name, queryset in before.items():
        if name in after and not moved:
            continue
        old_idx = _index(resource, queryset.exclude(pk=pk), old)
        if name not in after:
            messages.append(_remove(name, old_idx))
            continue
        new_idx = _index(resource, queryset.exclude(pk=pk), new)
        if new_idx != old_idx:
            messages += [_remove(name, old_idx), _add(name, value, new_idx)]
    for name, queryset in after.items():
        if name not in before:
            messages.append(_add(name, value, _index(resource, queryset.exclude(pk=pk), new)))
    return messages


def _may_move(resource: ModelResource, old: State | None, new: State) -> bool:
    """Whether a row whose column values go from ``old`` to ``new`` may change places in a collection."""
    if old is None:
        return True
    attnames = [*resource.order_attnames]
    attnames += [
        r.fk_attname
        for r in resource.registry.relations
        if r.fk_attname and issubclass(resource.model, r.item_model)
    ]
    return any(old.get(a) != new.get(a) for a in attnames)


def _sort_key(resource: ModelResource, state: State) -> list[Any]:
    return [state.get(attname) for attname in resource.order_attnames]


def _index(resource: ModelResource, queryset: models.QuerySet[models.Model], state: Any) -> int:
    """How many rows of ``queryset`` sort before a row with column values ``state``."""
    terms: list[models.Q] = []
    equal: dict[str, Any] = {}
    for entry in resource.order_by:
        field = resource.get_field(entry.removeprefix("-"))
        value = state.get(field.attname)
        if value is None:
            break
        terms.append(models.Q(**equal, **{f"{field.name}__{'gt' if entry[0] == '-' else 'lt'}": value}))
        equal[field.name] = value
    if not terms:
        return 0
    return queryset.filter(reduce(or_, terms)).count()


def _diff(name: str, item: ModelResource, before: list[Any], after: list[Any]) -> list[Message]:
    """Remove then add events turning ``before`` into ``after`` (common keys keep their order)."""
    messages, current, keep = [], list(before), set(after)
    for idx in range(len(current) - 1, -1, -1):
        if current[idx] not in keep:
            messages.append(_remove(name, idx))
            del current[idx]
    present = set(current)
    for idx, key in enumerate(after):
        if key not in present:
            messages.append(_add(name, ref(item.rid_for(key)), idx))
    return messages


def _add(name: str, value: Any, idx: int) -> Message:
    return f"event.{name}.add", dumps({"value": value, "idx": idx})


def _remove(name: str, idx: int) -> Message:
    return f"event.{name}.remove", dumps({"idx": idx})


def _key(resource: ModelResource, pk: Any) -> Any:
    """The value of ``resource``'s RID placeholder for the row with primary key ``pk``."""
    if resource.lookup_attname == resource.opts.pk.attname:
        return pk
    return resource.model._default_manager.filter(pk=pk).values_list(resource.lookup, flat=True).first()


def _query_names(resource: ModelResource) -> tuple[str, ...]:
    return (resource.collection,) if resource.collection and resource.is_queryable else ()


# -- query events -------------------------------------------------------------------------------


def query_subject(name: str) -> str:
    """A fresh subject for one query event; the service answers it for ``QUERY_EVENT_DURATION``."""
    expires = int((time.time() + bridge_settings.QUERY_EVENT_DURATION) * 1000)
    return f"{QUERY_SUBJECT_PREFIX}.{expires}.{uuid.uuid4().hex}.{name}"


def parse_query_subject(subject: str) -> tuple[str, float] | None:
    """The resource name of a query event subject and when it expires (epoch seconds)."""
    parts = subject[len(QUERY_SUBJECT_PREFIX) + 1 :].split(".", 2)
    if not subject.startswith(QUERY_SUBJECT_PREFIX + ".") or len(parts) != 3 or not parts[0].isdigit():
        return None
    return parts[2], int(parts[0]) / 1000


# -- announcing writes (change capture sees them anyway) ----------------------------------------


def announce_change(
    instance_or_model: models.Model | type[models.Model],
    pk: Any = None,
    using: str = "default",
    reg: Registry = registry,
) -> None:
    """Announce a row written without signals (``QuerySet.update``, raw SQL): its current values
    as a change event (or a delete event when it is gone), and a reset of the collections that may
    hold it. Sent after the current transaction commits."""
    if isinstance(instance_or_model, models.Model):
        model, pk = type(instance_or_model), instance_or_model.pk
    else:
        model = instance_or_model
    resource = reg.resource_for(model)
    row = resource.get_queryset().filter(pk=pk).first()
    if row is None:
        messages = [(f"event.{resource.rid_for(pk)}.delete", b"")]
    else:
        messages = [(f"event.{resource.rid_for(row)}.change", dumps({"values": resource.to_model(row)}))]
    messages.append(publisher.reset_message(_holding(resource)))
    outbox.write(using, outbox.encode(messages, _query_names(resource)))


def announce_reset(model: type[models.Model], using: str = "default", reg: Registry = registry) -> None:
    """Announce that any row of ``model`` may have changed (``bulk_create``, bulk updates):
    a ``system.reset`` of its resources and of every collection that may hold its rows."""
    resource = reg.resource_for(model)
    outbox.write(using, outbox.encode([publisher.reset_message(_everything(resource))]))


def _everything(resource: ModelResource) -> list[str]:
    """Patterns of every resource that shows rows of ``resource``."""
    names = [Registry.template(resource.rid).pattern, *_holding(resource)]
    return names + [Registry.template(rid).pattern for rid in resource.relations.values()]


def _holding(resource: ModelResource) -> list[str]:
    """Patterns of the collections that hold rows of ``resource``."""
    names = [resource.collection] if resource.collection else []
    for relation in resource.registry.relations:
        if issubclass(resource.model, relation.item_model):
            names.append(Registry.template(relation.owner.relations[relation.name]).pattern)
    return names


# -- captured changes the signals did not see -----------------------------------------------------


class Captured:
    """Events for a run of outbox rows without events of their own, in order.

    Change and delete events go out as they come; the collections whose membership or order changed
    are reset, and query collections get a query event, once per run (:meth:`close`), before any
    events the signals computed for later rows.
    """

    def __init__(self, reg: Registry = registry) -> None:
        self.registry = reg
        self.messages: list[Message] = []
        self.resets: set[str] = set()
        self.access: set[str] = set()
        self.queries: dict[str, None] = {}
        self.tables: dict[str, tuple[ModelResource | None, list[Relation]]] = {}
        for resource in reg.resources:
            self.tables[resource.opts.db_table] = (resource, [])
        for relation in reg.relations:
            if relation.through is not None:
                self.tables.setdefault(relation.through._meta.db_table, (None, []))[1].append(relation)

    def add(self, entry: OutboxEntry) -> None:
        """Events for one captured change."""
        if entry.op == OutboxEntry.LOST:
            logger.error(
                "outbox rows were deleted before a relay sent them: resetting all served resources and access"
            )
            self.resets.update(self.served())
            self.access.update(self.served())
            return
        found = self.tables.get(entry.table)
        if found is None:
            logger.warning(
                "outbox row for table %r, which no registered resource serves: resetting every served "
                "resource (manage.py resoutbox sync drops stale triggers)",
                entry.table,
            )
            self.resets.update(self.served())
            return
        resource, relations = found
        if resource is not None:
            try:
                self._row(resource, entry)
            except Exception:  # noqa: BLE001 - a row we cannot read: its resources are reset instead
                logger.exception(
                    "cannot compute events for %s %s %s: resetting", entry.op, entry.table, entry.key
                )
                self.resets.update(_everything(resource))
        for relation in relations:
            self._link(relation, entry)

    def close(self) -> list[Message]:
        """The events of the run; the run starts again empty."""
        messages = self.messages
        if self.resets or self.access:
            messages.append(publisher.reset_message(self.resets, self.access))
        messages += [(f"event.{name}.query", b"") for name in self.queries]
        self.messages, self.resets, self.access, self.queries = [], set(), set(), {}
        return messages

    def served(self) -> list[str]:
        return [f"{namespace}.>" for namespace in self.registry.namespaces()]

    def _row(self, resource: ModelResource, entry: OutboxEntry) -> None:
        if entry.op == OutboxEntry.TRUNCATE:
            self.resets.update(_everything(resource))
            self.queries.update(dict.fromkeys(_query_names(resource)))
            return
        old, new = _state(resource, entry.old), _state(resource, entry.new)
        instance = resource.model(**(new if new is not None else old))  # type: ignore[arg-type]
        before = {name for name, _, _ in _holders(resource, old)}
        after = {name for name, _, _ in _holders(resource, new)}
        if old is not None and new is not None:
            changed = {a for a, v in new.items() if old.get(a) != v}
            self.messages += _change(resource, instance, changed)
            if _sort_key(resource, old) != _sort_key(resource, new):
                self.resets.update(before, after)
            else:
                self.resets.update(before ^ after)
        else:
            self.resets.update(before, after)
        if new is None:
            key = getattr(instance, resource.lookup)
            self.messages += [
                (f"event.{resource.relation_rid(n, key)}.delete", b"") for n in resource.relations
            ]
            self.messages.append((f"event.{resource.rid_for(key)}.delete", b""))
        self.queries.update(dict.fromkeys(_query_names(resource)))

    def _link(self, relation: Relation, entry: OutboxEntry) -> None:
        """A through-table row added, changed or removed: the owner's collection is reset."""
        if entry.op == OutboxEntry.TRUNCATE:
            self.resets.add(self.registry.template(relation.owner.relations[relation.name]).pattern)
            return
        assert relation.through is not None  # only many-to-many relations have through rows
        fks = [fk for fk in through_keys(relation.through._meta) if fk.related_model is relation.owner.model]
        for row in (entry.old, entry.new):
            for fk in fks:
                owner_pk = fk.to_python(row.get(fk.column)) if row else None
                if owner_pk is not None:
                    self.resets.add(relation.rid(_key(relation.owner, owner_pk)))


def _state(resource: ModelResource, row: dict[str, Any] | None) -> State | None:
    """A captured row (column → JSON value) as column values by attribute name."""
    if row is None:
        return None
    return {
        f.attname: f.to_python(row.get(f.column)) for f in resource.opts.concrete_fields if f.column in row
    }
