"""What the registered resources look like, for frontends: a neutral description, rendered by
:mod:`.typescript` (declarations) and :mod:`.openapi` (the REST bridge as OpenAPI 3.1).

Field types come from the resource's serializer field; a serializer field of no known type falls back
to the model field it reads, and is ``unknown`` (with a note saying why) when neither tells.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from django.db import models
from django.db.models.fields.related import RelatedField
from rest_framework import serializers
from rest_framework.settings import api_settings

from ..queries import LIMIT, OFFSET, ORDER
from ..registry import Registry
from ..resources import PREDEFINED_METHODS, ModelResource


class Kind(StrEnum):
    """What a value is."""

    NUMBER = "number"
    INTEGER = "integer"
    STRING = "string"
    BOOLEAN = "boolean"
    JSON = "json"  # any JSON value
    CHOICE = "choice"
    ARRAY = "array"
    MAP = "map"  # an object of any keys, values of one type
    OBJECT = "object"
    UNKNOWN = "unknown"
    MODEL = "model"  # a reference to a model resource
    COLLECTION = "collection"  # a reference to a collection (relation) resource
    REF_PARAM = "ref_param"  # a call parameter naming a row: its key, or a reference ``{"rid": ...}``


@dataclass(frozen=True)
class Type:
    """A value's type: its kind, refined for some kinds by the other fields."""

    kind: Kind
    nullable: bool = False
    format: str = ""  # STRING: date, date-time, time, duration, email, uri, uuid, decimal, ipv4...
    choices: tuple[Any, ...] = ()  # CHOICE: the allowed values
    item: Type | None = None  # ARRAY: the items; MAP: the values
    fields: tuple[Field, ...] = ()  # OBJECT
    resource: str = ""  # MODEL, COLLECTION, REF_PARAM: the type name of the resource
    note: str = ""  # UNKNOWN: why


@dataclass(frozen=True)
class Field:
    name: str
    type: Type
    required: bool = True
    doc: str = ""


@dataclass(frozen=True)
class Method:
    name: str
    params: Type | None  # None: the method takes no params
    doc: str = ""


@dataclass(frozen=True)
class Collection:
    """A collection: every row (``library.books``), or one row's relation (``library.book.{pk}.loans``)."""

    name: str  # type name
    rid: str  # RID template
    item: str  # type name of the items
    methods: tuple[Method, ...] = ()
    query: tuple[Field, ...] = ()  # query string parameters, for a query collection


@dataclass(frozen=True)
class Resource:
    """One registered model resource: its model resource, its collections and their call methods."""

    name: str  # type name (the model's class name)
    rid: str  # RID template (``library.book.{pk}``)
    lookup: str  # the RID's parameter
    lookup_type: Type
    fields: tuple[Field, ...]
    methods: tuple[Method, ...]
    collections: tuple[Collection, ...] = ()
    doc: str = ""


@dataclass
class Schema:
    resources: list[Resource] = field(default_factory=list)

    @classmethod
    def of(cls, registry: Registry) -> Schema:
        names = _type_names(registry.resources)
        return cls([_describe(resource, names) for resource in registry.resources])

    def unknowns(self) -> list[str]:
        """Where a type is ``unknown``, and why: ``Shelf.mood: ...``, ``library.shelf.{pk} addBook: ...``."""
        found = []
        for resource in self.resources:
            found += [f"{resource.name}.{f.name}: {note}" for f in resource.fields for note in _notes(f.type)]
            for rid, methods in [(resource.rid, resource.methods)] + [
                (c.rid, c.methods) for c in resource.collections
            ]:
                for method in methods:
                    if method.params is not None:
                        found += [f"{rid} {method.name}: {note}" for note in _notes(method.params)]
        return found


def _notes(t: Type) -> list[str]:
    """The notes of every unknown type in ``t``."""
    if t.kind == Kind.UNKNOWN:
        return [t.note]
    inner = [f.type for f in t.fields] + ([t.item] if t.item is not None else [])
    return [note for i in inner for note in _notes(i)]


def _type_names(resources: Iterable[ModelResource]) -> dict[type[models.Model], str]:
    """Each model's class name, prefixed with its app's when two apps' models share it."""
    resources = list(resources)
    counts: dict[str, int] = {}
    for r in resources:
        counts[r.model.__name__] = counts.get(r.model.__name__, 0) + 1
    return {
        r.model: r.model.__name__
        if counts[r.model.__name__] == 1
        else _pascal(r.opts.app_label) + r.model.__name__
        for r in resources
    }


def _pascal(text: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in text.replace("-", "_").split("_") if part)


def _describe(resource: ModelResource, names: dict[type[models.Model], str]) -> Resource:
    name = names[resource.model]
    reader = resource.serializer()
    fields = tuple(_value_field(resource, reader, f, names) for f in resource.field_names)
    collections = []
    if resource.collection:
        query = _query_params(resource) if resource.is_queryable else ()
        methods = _methods(resource, reader, names, detail=False)
        collections.append(Collection(f"{name}Collection", resource.collection, name, methods, query))
    for relation, rid in resource.relations.items():
        found = resource.registry.relation(resource, relation)
        item = names.get(found.item_model) if found is not None else None
        if item is not None:
            collections.append(Collection(name + _pascal(relation), rid, item))
    return Resource(
        name=name,
        rid=resource.rid,
        lookup=resource.lookup,
        lookup_type=_model_field_type(resource.get_field(resource.lookup)),
        fields=fields,
        methods=_methods(resource, reader, names, detail=True),
        collections=tuple(collections),
        doc=str(resource.opts.verbose_name).capitalize(),
    )


def _value_field(
    resource: ModelResource,
    reader: serializers.Serializer[Any],
    name: str,
    names: dict[type[models.Model], str],
) -> Field:
    if name in resource.relations:
        found = resource.registry.relation(resource, name)
        if found is None or found.item_model not in names:
            return Field(name, Type(Kind.UNKNOWN, note="a relation to a model that is not registered"))
        return Field(name, Type(Kind.COLLECTION, resource=names[resource.model] + _pascal(name)))
    if name in resource.reference_fields:
        fk = resource.reference_fields[name]
        target = names.get(fk.related_model)
        if target is None:
            return Field(
                name, Type(Kind.UNKNOWN, note=f"a reference to {fk.related_model.__name__}, not registered")
            )
        return Field(name, Type(Kind.MODEL, nullable=fk.null, resource=target))
    if name in resource.key_fields:
        column = next(f for f in resource.opts.concrete_fields if f.attname == name)
        return Field(name, _model_field_type(column))
    return Field(
        name, _serializer_field_type(reader.fields[name], resource.model), doc=_help(reader.fields[name])
    )


def _help(f: serializers.Field[Any, Any, Any, Any]) -> str:
    return str(f.help_text or "")


def _methods(
    resource: ModelResource,
    reader: serializers.Serializer[Any],
    names: dict[type[models.Model], str],
    *,
    detail: bool,
) -> tuple[Method, ...]:
    """The call methods the resource answers (model resource or collection), with their params."""
    candidates = dict.fromkeys([*PREDEFINED_METHODS, *(name for name, _ in resource.custom_methods)])
    found = []
    for method in candidates:
        handler = resource.method_handler(method, detail)
        if handler is None:
            continue
        if (method, detail) in resource.custom_methods:
            found.append(
                Method(method, _custom_params(handler, resource.model), _first_line(handler.__doc__))
            )
        elif method == "set":
            found.append(
                Method(method, _params(resource, reader, names, partial=True), "Change some fields.")
            )
        elif method == "new":
            found.append(Method(method, _params(resource, reader, names, partial=False), "Add a row."))
        elif detail:
            found.append(Method(method, None, "Delete this row."))
        else:
            key = Field("id", Type(Kind.INTEGER), doc="the key of the row to delete")
            found.append(Method(method, Type(Kind.OBJECT, fields=(key,)), "Delete a row by its key."))
    return tuple(found)


def _first_line(doc: str | None) -> str:
    return (doc or "").strip().split("\n\n")[0].replace("\n", " ")


def _params(
    resource: ModelResource,
    reader: serializers.Serializer[Any],
    names: dict[type[models.Model], str],
    *,
    partial: bool,
) -> Type:
    fields = []
    for name, f in reader.fields.items():
        if f.read_only:
            continue
        if name in resource.reference_fields:
            fk = resource.reference_fields[name]
            kind = Type(Kind.REF_PARAM, nullable=fk.null, resource=names.get(fk.related_model, ""))
        else:
            kind = _serializer_field_type(f, resource.model)
        fields.append(Field(name, kind, required=f.required and not partial, doc=_help(f)))
    return Type(Kind.OBJECT, fields=tuple(fields))


def _custom_params(handler: Any, model: type[models.Model]) -> Type | None:
    declared = getattr(handler, "res_params", None)
    if declared is None:
        return Type(Kind.UNKNOWN, note="params not declared: call_method(params=...) describes them")
    serializer = declared() if isinstance(declared, type) else declared
    fields = tuple(
        Field(name, _serializer_field_type(f, model), required=f.required, doc=_help(f))
        for name, f in serializer.fields.items()
        if not f.read_only
    )
    return Type(Kind.OBJECT, fields=fields) if fields else None


def _query_params(resource: ModelResource) -> tuple[Field, ...]:
    filters = [
        Field(key, Type(Kind.STRING), required=False, doc=f"filter: {lookup}")
        for key, lookup in resource.query_filters.items()
    ]
    orders = tuple(o for name in resource.query_ordering for o in (name, f"-{name}"))
    return (
        *filters,
        Field(
            ORDER, Type(Kind.CHOICE, choices=orders), required=False, doc="a field, - in front for descending"
        ),
        Field(OFFSET, Type(Kind.INTEGER), required=False, doc="rows to skip"),
        Field(
            LIMIT, Type(Kind.INTEGER), required=False, doc=f"rows to return, at most {resource.max_page_size}"
        ),
    )


# -- serializer and model fields to types ---------------------------------------------------------------

_SERIALIZER_TYPES: list[tuple[type[serializers.Field[Any, Any, Any, Any]], Type]] = [
    (serializers.BooleanField, Type(Kind.BOOLEAN)),
    (serializers.IntegerField, Type(Kind.INTEGER)),
    (serializers.FloatField, Type(Kind.NUMBER)),
    (serializers.DateTimeField, Type(Kind.STRING, format="date-time")),
    (serializers.DateField, Type(Kind.STRING, format="date")),
    (serializers.TimeField, Type(Kind.STRING, format="time")),
    (serializers.DurationField, Type(Kind.STRING, format="duration")),
    (serializers.EmailField, Type(Kind.STRING, format="email")),
    (serializers.URLField, Type(Kind.STRING, format="uri")),
    (serializers.UUIDField, Type(Kind.STRING, format="uuid")),
    (serializers.CharField, Type(Kind.STRING)),
    (serializers.JSONField, Type(Kind.JSON)),
    (serializers.FileField, Type(Kind.STRING, format="uri")),
]


def _serializer_field_type(f: serializers.Field[Any, Any, Any, Any], model: type[models.Model]) -> Type:
    """The type of a serializer field's values; a custom field falls back to the model field it reads."""
    found = _known_serializer_type(f, model)
    if found is None:
        model_field = _model_field(model, f.source)
        if isinstance(model_field, models.Field):
            found = _model_field_type(model_field)
        else:
            found = Type(Kind.UNKNOWN, note=f"{type(f).__name__} has no known type and reads no model field")
    if getattr(f, "allow_null", False) and not found.nullable:
        found = replace(found, nullable=True)
    return found


def _known_serializer_type(
    f: serializers.Field[Any, Any, Any, Any], model: type[models.Model]
) -> Type | None:
    if isinstance(f, serializers.MultipleChoiceField):
        return Type(Kind.ARRAY, item=Type(Kind.CHOICE, choices=tuple(f.choices)))
    if isinstance(f, serializers.ChoiceField):
        return Type(Kind.CHOICE, choices=tuple(f.choices))
    if isinstance(f, serializers.DecimalField):
        as_string = getattr(f, "coerce_to_string", api_settings.COERCE_DECIMAL_TO_STRING)
        return Type(Kind.STRING, format="decimal") if as_string else Type(Kind.NUMBER)
    if isinstance(f, serializers.BigIntegerField):
        as_string = getattr(f, "coerce_to_string", getattr(api_settings, "COERCE_BIGINT_TO_STRING", False))
        return Type(Kind.STRING, format="int64") if as_string else Type(Kind.INTEGER)
    if isinstance(f, serializers.ListField):
        return Type(Kind.ARRAY, item=_serializer_field_type(f.child, model))
    if isinstance(f, serializers.DictField):
        return Type(Kind.MAP, item=_serializer_field_type(f.child, model))
    if isinstance(f, serializers.ListSerializer) and f.child is not None:
        return Type(Kind.ARRAY, item=_serializer_field_type(f.child, model))
    if isinstance(f, serializers.Serializer):
        return Type(
            Kind.OBJECT,
            fields=tuple(
                Field(n, _serializer_field_type(c, model), doc=_help(c)) for n, c in f.fields.items()
            ),
        )
    if isinstance(f, serializers.PrimaryKeyRelatedField):
        field = _model_field(model, f.source)
        if isinstance(field, RelatedField | models.ForeignObjectRel):
            return _model_field_type(field.target_field)
        return Type(Kind.INTEGER)
    if isinstance(f, serializers.SerializerMethodField):
        return Type(Kind.UNKNOWN, note=f"computed by a method ({f.method_name or f'get_{f.field_name}'})")
    for kind, found in _SERIALIZER_TYPES:
        if isinstance(f, kind):
            return found
    return None


def _model_field(
    model: type[models.Model], name: str | None
) -> models.Field[Any, Any] | models.ForeignObjectRel | None:
    if name is None:
        return None
    try:
        return model._meta.get_field(name)
    except Exception:  # noqa: BLE001 - FieldDoesNotExist, or a dotted source
        return None


_MODEL_TYPES: list[tuple[type[models.Field[Any, Any]], Type]] = [
    (models.BooleanField, Type(Kind.BOOLEAN)),
    (models.AutoField, Type(Kind.INTEGER)),
    (models.BigAutoField, Type(Kind.INTEGER)),
    (models.SmallAutoField, Type(Kind.INTEGER)),
    (models.IntegerField, Type(Kind.INTEGER)),
    (models.FloatField, Type(Kind.NUMBER)),
    (models.DecimalField, Type(Kind.STRING, format="decimal")),
    (models.DateTimeField, Type(Kind.STRING, format="date-time")),
    (models.DateField, Type(Kind.STRING, format="date")),
    (models.TimeField, Type(Kind.STRING, format="time")),
    (models.DurationField, Type(Kind.STRING, format="duration")),
    (models.EmailField, Type(Kind.STRING, format="email")),
    (models.URLField, Type(Kind.STRING, format="uri")),
    (models.UUIDField, Type(Kind.STRING, format="uuid")),
    (models.CharField, Type(Kind.STRING)),
    (models.TextField, Type(Kind.STRING)),
    (models.GenericIPAddressField, Type(Kind.STRING)),
    (models.FileField, Type(Kind.STRING)),
    (models.JSONField, Type(Kind.JSON)),
]


def _model_field_type(f: models.Field[Any, Any]) -> Type:
    if isinstance(f, models.ForeignKey):
        found = _model_field_type(f.target_field)
    elif f.choices:
        found = Type(Kind.CHOICE, choices=tuple(value for value, _label in f.flatchoices))
    else:
        found = next((t for kind, t in _MODEL_TYPES if isinstance(f, kind)), None) or Type(
            Kind.UNKNOWN, note=f"model field {type(f).__name__} has no known type"
        )
    return replace(found, nullable=True) if f.null else found
