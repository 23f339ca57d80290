"""RES events from the ORM: signals become change/add/remove/delete/query events after commit.

Indexes are computed when the signal fires, inside the transaction, so a sequence of writes
yields a sequence of events that applies in order; the events are queued with
``transaction.on_commit``, so a rolled-back transaction publishes nothing.

Writes that send no signals (``QuerySet.update``, ``bulk_create``, raw SQL) are announced with
:func:`announce_change` (per row) or :func:`announce_reset` (a whole model).
"""

from __future__ import annotations

import time
import uuid
from functools import partial, reduce
from operator import or_
from typing import Any

from django.db import models, transaction
from django.db.models.signals import m2m_changed, post_delete, post_init, post_save, pre_delete

from res_protocol import dumps, ref

from . import publisher
from .conf import bridge_settings
from .registry import Registry, registry
from .resources import ModelResource

QUERY_SUBJECT_PREFIX = "_RES_BRIDGE.query"

Message = tuple[str, bytes]
State = dict[str, Any]

_STATE = "_res_state"
_PENDING = "_res_pending"


# -- signal wiring ------------------------------------------------------------------------------


def connect_signals(reg: Registry = registry) -> None:
    """Connect the handlers for every registered model (idempotent)."""
    for resource in reg.resources:
        model = resource.model
        uid = f"res_bridge.{model._meta.label}"
        post_init.connect(_remember, sender=model, dispatch_uid=uid)
        post_save.connect(_saved, sender=model, dispatch_uid=uid)
        pre_delete.connect(_deleting, sender=model, dispatch_uid=uid)
        post_delete.connect(_deleted, sender=model, dispatch_uid=uid)
    for relation in reg.relations:
        if relation.through is not None:
            m2m_changed.connect(_m2m_changed, sender=relation.through, dispatch_uid="res_bridge.m2m")


def state_of(instance: models.Model) -> State:
    """The instance's loaded column values (deferred ones left out)."""
    values = instance.__dict__
    return {f.attname: values[f.attname] for f in instance._meta.concrete_fields if f.attname in values}


def _remember(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    instance.__dict__[_STATE] = state_of(instance)


def _saved(
    sender: type, instance: models.Model, created: bool, raw: bool = False, using: str = "default", **kw: Any
) -> None:
    if raw:
        return
    resource = registry.resource_for(sender)
    old: State = instance.__dict__.get(_STATE, {})
    new = state_of(instance)
    instance.__dict__[_STATE] = new
    if created:
        messages = _moves(resource, instance, None, new)
    else:
        changed = {a for a, v in new.items() if a not in old or old[a] != v}
        if not changed:
            return
        messages = _change(resource, instance, changed) + _moves(resource, instance, old, new)
    _queue(using, messages, _query_names(resource))


def _deleting(sender: type, instance: models.Model, using: str = "default", **kwargs: Any) -> None:
    """Before the row goes: its places in many-to-many collections (their rows vanish silently)."""
    item = registry.resource_for(sender)
    removes = []
    for relation in registry.relations:
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
    instance.__dict__[_PENDING] = removes


def _deleted(sender: type, instance: models.Model, using: str = "default", **kwargs: Any) -> None:
    resource = registry.resource_for(sender)
    old = instance.__dict__.get(_STATE) or state_of(instance)
    messages = instance.__dict__.pop(_PENDING, [])
    messages += _moves(resource, instance, old, None)
    key = getattr(instance, resource.lookup)
    messages += [(f"event.{resource.relation_rid(name, key)}.delete", b"") for name in resource.relations]
    messages.append((f"event.{resource.rid_for(key)}.delete", b""))
    _queue(using, messages, _query_names(resource))


def _m2m_changed(
    sender: type, instance: models.Model, action: str, pk_set: set | None, using: str = "default", **kw: Any
) -> None:
    phase, _, what = action.partition("_")
    pending: dict[tuple[int, Any], list] = instance.__dict__.setdefault("_res_m2m", {})
    messages: list[Message] = []
    for relation in registry.relations:
        if relation.through is not sender:
            continue
        item = registry.resource_for(relation.item_model)
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
        for owner_pk in owners:
            keys = list(relation.items(owner_pk, item).values_list(item.lookup, flat=True))
            slot = (id(relation), owner_pk)
            if phase == "pre":
                pending[slot] = keys
            elif slot in pending:
                messages += _diff(relation.rid(_key(relation.owner, owner_pk)), item, pending.pop(slot), keys)
        if phase == "post" and what == "clear":
            for slot in [s for s in pending if s[0] == id(relation)]:
                owner_pk = slot[1]
                keys = list(relation.items(owner_pk, item).values_list(item.lookup, flat=True))
                messages += _diff(relation.rid(_key(relation.owner, owner_pk)), item, pending.pop(slot), keys)
    if messages:
        _queue(using, messages, ())


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


def _places(resource: ModelResource, state: State | None) -> dict[str, models.QuerySet]:
    """The collections a row with column values ``state`` belongs to: name → that collection's rows."""
    if state is None:
        return {}
    places: dict[str, models.QuerySet] = {}
    if resource.collection:
        places[resource.collection] = resource.get_queryset()
    for relation in registry.relations:
        if relation.fk_attname and issubclass(resource.model, relation.item_model):
            owner_pk = state.get(relation.fk_attname)
            if owner_pk is not None:
                places[relation.rid(_key(relation.owner, owner_pk))] = relation.items(owner_pk, resource)
    return places


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


def _sort_key(resource: ModelResource, state: State) -> list[Any]:
    return [state.get(attname) for attname in resource.order_attnames]


def _index(resource: ModelResource, queryset: models.QuerySet, state: Any) -> int:
    """How many rows of ``queryset`` sort before a row with column values ``state``."""
    terms, equal = [], {}
    for entry in resource.order_by:
        name = entry.removeprefix("-")
        field = resource.opts.pk if name == "pk" else resource.opts.get_field(name)
        value = state.get(field.attname)
        if value is None:
            break
        terms.append(models.Q(**equal, **{f"{field.name}__{'gt' if entry[0] == '-' else 'lt'}": value}))
        equal[field.name] = value
    if not terms:
        return 0
    return queryset.filter(reduce(or_, terms)).count()


def _diff(name: str, item: ModelResource, before: list, after: list) -> list[Message]:
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


# -- sending ------------------------------------------------------------------------------------


def _queue(using: str, messages: list[Message], query_names: tuple[str, ...]) -> None:
    if messages or query_names:
        transaction.on_commit(partial(_send, messages, query_names), using=using)


def _send(messages: list[Message], query_names: tuple[str, ...]) -> None:
    for subject, data in messages:
        publisher.publish(subject, data)
    for name in query_names:
        publisher.publish(f"event.{name}.query", {"subject": query_subject(name)})


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


# -- announcing writes the signals miss ---------------------------------------------------------


def announce_change(
    instance_or_model: models.Model | type[models.Model], pk: Any = None, using: str = "default"
) -> None:
    """Announce a row written without signals (``QuerySet.update``, raw SQL): its current values
    as a change event (or a delete event when it is gone), and a reset of the collections that may
    hold it. Sent after the current transaction commits."""
    if isinstance(instance_or_model, models.Model):
        model, pk = type(instance_or_model), instance_or_model.pk
    else:
        model = instance_or_model
    resource = registry.resource_for(model)
    row = resource.get_queryset().filter(pk=pk).first()
    if row is None:
        messages = [(f"event.{resource.rid_for(pk)}.delete", b"")]
    else:
        messages = [(f"event.{resource.rid_for(row)}.change", dumps({"values": resource.to_model(row)}))]
    messages.append(publisher.reset_message(_holding(resource)))
    _queue(using, messages, _query_names(resource))


def announce_reset(model: type[models.Model], using: str = "default") -> None:
    """Announce that any row of ``model`` may have changed (``bulk_create``, bulk updates):
    a ``system.reset`` of its resources and of every collection that may hold its rows."""
    resource = registry.resource_for(model)
    names = [registry.template(resource.rid).pattern, *_holding(resource)]
    names += [registry.template(rid).pattern for rid in resource.relations.values()]
    _queue(using, [publisher.reset_message(names)], ())


def _holding(resource: ModelResource) -> list[str]:
    """Patterns of the collections that hold rows of ``resource``."""
    names = [resource.collection] if resource.collection else []
    for relation in registry.relations:
        if issubclass(resource.model, relation.item_model):
            names.append(registry.template(relation.owner.relations[relation.name]).pattern)
    return names
