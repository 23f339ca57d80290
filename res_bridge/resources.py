"""Resource classes: how one Django model is served as RES resources.

    @register
    class BookResource(ModelResource):
        model = Book
        rid = "library.book.{pk}"              # the model resource, one per row
        fields = ["id", "title", "author"]     # values; a forward foreign key becomes a reference
        collection = "library.books"           # every row, as references, in `ordering`
        relations = {"loans": "library.book.{pk}.loans"}  # reverse FK / many-to-many collections
        query_filters = {"author": "author__icontains"}   # library.books?author=...&order=...&limit=...
        query_ordering = ["id", "title"]

A name in ``fields`` is a model field (through the resource's DRF serializer), a forward foreign
key to a registered model (a reference ``{"rid": ...}``), a foreign key's column (``owner_id``:
the bare key), or a name of ``relations`` (a reference to that collection). Call methods ``set``,
``new`` and ``delete`` validate with the serializer; custom ones are declared with :func:`call_method`.
``has_access(request, obj)`` grants access per row, beside the access rules (``res_bridge.access``).
The full reference is ``docs/bridge.md``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from functools import cached_property
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar

from django.core.exceptions import (
    FieldDoesNotExist,
    ImproperlyConfigured,
    ObjectDoesNotExist,
    ValidationError,
)
from django.db import models
from rest_framework import serializers

from res_protocol import Access, errors, ref

from .conf import bridge_settings
from .queries import Query, parse_query
from .requests import Request, ResourceResponse

if TYPE_CHECKING:
    from .registry import Registry

PREDEFINED_METHODS = ("set", "new", "delete")

Handler = Callable[..., Any]
_H = TypeVar("_H", bound=Handler)

#: Deprecated handler names (one release) → their new names.
DEPRECATED_HANDLERS = {"call_delete": "call_delete_by_id", "call_destroy": "call_delete_row"}


def call_method(
    name: str | None = None, *, detail: bool = True, params: type[serializers.Serializer[Any]] | None = None
) -> Callable[[_H], _H]:
    """Declare a custom call method: ``detail=True`` on the model resource (``handler(request, obj)``),
    ``detail=False`` on the collection (``handler(request)``). The return value is the result;
    return :class:`~res_bridge.requests.ResourceResponse` for a resource response. ``params``, a
    serializer class, describes the params for ``manage.py resschema`` (the handler still checks them)."""

    def decorate(func: _H) -> _H:
        func.res_call = (name or func.__name__, detail)  # type: ignore[attr-defined]
        func.res_params = params  # type: ignore[attr-defined]
        return func

    return decorate


class ModelResource:
    """Serve ``model`` as RES resources; subclass and register (see the module docstring)."""

    model: type[models.Model]
    rid: str
    fields: Sequence[str] | None = None
    serializer_class: type[serializers.Serializer[Any]] | None = None
    collection: str | None = None
    ordering: Sequence[str] | None = None
    relations: Mapping[str, str] = MappingProxyType({})
    query_filters: Mapping[str, str] = MappingProxyType({})
    query_ordering: Sequence[str] = ()
    page_size: int | None = None
    call_methods: Sequence[str] = PREDEFINED_METHODS

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for old, new in DEPRECATED_HANDLERS.items():
            if old in cls.__dict__:
                warnings.warn(
                    f"{cls.__qualname__}.{old} overrides a deprecated name: rename it {new}",
                    DeprecationWarning,
                    stacklevel=2,
                )

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.opts = self.model._meta
        self.custom_methods: dict[tuple[str, bool], Handler] = {}
        for attr in dir(type(self)):
            spec = getattr(getattr(type(self), attr, None), "res_call", None)
            if spec:
                self.custom_methods[spec] = getattr(self, attr)

    # -- declaration, resolved ------------------------------------------------------------------

    @cached_property
    def field_names(self) -> list[str]:
        if self.fields is not None:
            return list(self.fields)
        if self.serializer_class is not None:
            return list(self.serializer_class().fields)
        return [f.name for f in self.opts.concrete_fields]

    @cached_property
    def reference_fields(self) -> dict[str, models.ForeignKey[Any, Any]]:
        """Names of ``fields`` that are forward foreign keys (or one-to-one fields)."""
        found: dict[str, models.ForeignKey[Any, Any]] = {}
        for name in self.field_names:
            field = self.model_field(name)
            if isinstance(field, models.ForeignKey) and name == field.name:
                found[name] = field
        return found

    @cached_property
    def key_fields(self) -> frozenset[str]:
        """Names of ``fields`` that are a foreign key's column (``owner_id``): sent as the bare key."""
        columns = {f.attname for f in self.opts.concrete_fields if f.is_relation}
        return frozenset(name for name in self.field_names if name in columns)

    @cached_property
    def value_fields(self) -> list[str]:
        special = {*self.reference_fields, *self.key_fields, *self.relations}
        return [name for name in self.field_names if name not in special]

    @cached_property
    def order_by(self) -> list[str]:
        """The ordering of rows in collections, ending with the primary key so it is total."""
        ordering: list[str] = []
        for entry in self.ordering or self.opts.ordering or []:
            if not isinstance(entry, str):
                raise ImproperlyConfigured(
                    f"{type(self).__name__}: cannot order collections by the expression {entry!r}: "
                    "set ordering to field names"
                )
            ordering.append(entry)
        if not any(o.removeprefix("-") in ("pk", self.opts.pk.name) for o in ordering):
            ordering.append("pk")
        return ordering

    @cached_property
    def order_attnames(self) -> list[str]:
        """The columns :attr:`order_by` sorts on."""
        fields = [self.model_field(o.removeprefix("-")) for o in self.order_by]
        return [f.attname if isinstance(f, models.Field) else self.opts.pk.attname for f in fields]

    @property
    def max_page_size(self) -> int:
        return self.page_size or bridge_settings.MAX_PAGE_SIZE

    def model_field(self, name: str) -> models.Field[Any, Any] | models.ForeignObjectRel | None:
        """The model's field or reverse relation ``name``, or ``None``."""
        try:
            return self.opts.get_field(name)
        except FieldDoesNotExist:
            return None

    def get_field(self, name: str) -> models.Field[Any, Any]:
        """The model field ``name`` (``pk``: the primary key); :class:`FieldDoesNotExist` for others."""
        field = self.opts.pk if name == "pk" else self.opts.get_field(name)
        if not isinstance(field, models.Field):
            raise FieldDoesNotExist(f"{self.model.__name__}.{name} is a reverse relation, not a field")
        return field

    @cached_property
    def serializer(self) -> type[serializers.Serializer[Any]]:
        """The serializer for values and validation: ``serializer_class`` or one made from ``fields``."""
        if self.serializer_class is not None:
            return self.serializer_class
        meta = type("Meta", (), {"model": self.model, "fields": [*self.value_fields, *self.reference_fields]})
        return type(f"{self.model.__name__}Serializer", (serializers.ModelSerializer,), {"Meta": meta})

    @cached_property
    def _reader(self) -> serializers.Serializer[Any]:
        return self.serializer()

    # -- RIDs -----------------------------------------------------------------------------------

    @cached_property
    def lookup(self) -> str:
        """The placeholder of :attr:`rid` (``pk`` in ``library.book.{pk}``)."""
        return self.registry.template(self.rid).params[0]

    @cached_property
    def lookup_attname(self) -> str:
        return self.get_field(self.lookup).attname

    @property
    def is_queryable(self) -> bool:
        """Whether the collection also answers queries (``library.books?author=...``)."""
        return bool(self.collection and (self.query_filters or self.query_ordering))

    def rid_for(self, obj: models.Model | Any) -> str:
        key = obj if not isinstance(obj, models.Model) else getattr(obj, self.lookup)
        return self.rid.replace("{" + self.lookup + "}", str(key))

    def relation_rid(self, relation: str, key: Any) -> str:
        return self.relations[relation].replace("{" + self.lookup + "}", str(key))

    # -- get ------------------------------------------------------------------------------------

    def get_queryset(self) -> models.QuerySet[models.Model]:
        return self.model._default_manager.all()

    def get_object(self, key: str) -> models.Model:
        """The row under its canonical key only (``library.book.01`` is not book 1: notFound)."""
        try:
            obj: models.Model = self.get_queryset().get(**{self.lookup: key})
        except (ObjectDoesNotExist, ValidationError, ValueError, TypeError):
            raise errors.NOT_FOUND()
        if str(getattr(obj, self.lookup)) != key:
            raise errors.NOT_FOUND()
        return obj

    def to_model(self, obj: models.Model) -> dict[str, Any]:
        data = self._reader.to_representation(obj)
        values = {}
        for name in self.field_names:
            values[name] = self.value_of(obj, name, data)
        return values

    def value_of(self, obj: models.Model, name: str, data: dict[str, Any] | None = None) -> Any:
        """The RES value of one field of ``obj``."""
        if name in self.relations:
            return ref(self.relation_rid(name, getattr(obj, self.lookup)))
        if name in self.reference_fields:
            field = self.reference_fields[name]
            key = getattr(obj, field.attname)
            return None if key is None else ref(self.registry.resource_for(field.related_model).rid_for(key))
        if name in self.key_fields:
            return getattr(obj, name)
        if data is None:
            data = {name: self._reader.fields[name].to_representation(getattr(obj, name))}
        value = data[name]
        return {"data": value} if isinstance(value, (dict, list)) else value

    def to_collection(self, queryset: models.QuerySet[models.Model]) -> list[dict[str, str]]:
        return [ref(self.rid_for(key)) for key in queryset.values_list(self.lookup, flat=True)]

    def all_rows(self) -> list[dict[str, str]]:
        return self.to_collection(self.get_queryset().order_by(*self.order_by))

    def parse_query(self, query: str) -> Query:
        return parse_query(query, self.query_filters, self.query_ordering, self.max_page_size)

    def query_rows(self, query: Query) -> list[dict[str, str]]:
        return self.to_collection(query.apply(self.get_queryset(), self.query_filters, self.order_by))

    # -- access ---------------------------------------------------------------------------------

    def has_access(self, request: Request, obj: models.Model) -> Access | None:
        """The access to the row ``obj`` this resource grants ``request.user``, added to what the access
        rules and model permissions grant (``Access(get=True, call="set")``); ``None`` grants nothing more.

        Object-level, like DRF's ``has_object_permission``: asked by the default access policy for the
        model resource of a row that exists; the row is read only for resources that define this method.
        It decides nothing for collections (relation collections need every item readable)."""
        return None

    # -- calls ----------------------------------------------------------------------------------

    def method_handler(self, method: str, detail: bool) -> Handler | None:
        custom = self.custom_methods.get((method, detail))
        if custom is not None:
            return custom
        if method not in self.call_methods:
            return None
        predefined: dict[tuple[str, bool], Handler] = {
            ("set", True): self.call_set,
            ("delete", True): self._predefined("call_destroy"),
        }
        predefined |= {("new", False): self.call_new, ("delete", False): self._predefined("call_delete")}
        return predefined.get((method, detail))

    def _predefined(self, old: str) -> Handler:
        """The handler named :data:`DEPRECATED_HANDLERS` ``[old]``, or a subclass's override of ``old``."""
        overridden = getattr(type(self), old) is not getattr(ModelResource, old)
        handler: Handler = getattr(self, old if overridden else DEPRECATED_HANDLERS[old])
        return handler

    def get_serializer(self, *args: Any, **kwargs: Any) -> serializers.Serializer[Any]:
        return self.serializer(*args, **kwargs)

    def call_set(self, request: Request, obj: models.Model) -> None:
        """``set``: a partial update; the change event goes out before the reply."""
        serializer = self.get_serializer(obj, data=self.data_from(request), partial=True)
        self.validate(serializer)
        self.perform_update(serializer, request)

    def call_new(self, request: Request) -> ResourceResponse:
        """``new`` on the collection: create a row, reply with a reference to it."""
        serializer = self.get_serializer(data=self.data_from(request))
        self.validate(serializer)
        obj = self.perform_create(serializer, request)
        return ResourceResponse(self.rid_for(obj))

    def call_delete_by_id(self, request: Request) -> None:
        """``delete`` on the collection: the row whose key is params ``{"id": <key>}``; an unknown key is
        no error."""
        key = _params(request).get("id")
        if not isinstance(key, (int, float)) or isinstance(key, bool):
            raise errors.invalid_params(f"{str(self.opts.verbose_name).capitalize()} ID must be a number")
        if key == int(key):
            for obj in self.get_queryset().filter(**{self.lookup: int(key)}):
                self.perform_destroy(obj, request)

    def call_delete_row(self, request: Request, obj: models.Model) -> None:
        """``delete`` on the model resource: that row."""
        self.perform_destroy(obj, request)

    def call_delete(self, request: Request) -> None:
        """Deprecated name of :meth:`call_delete_by_id`."""
        _deprecated("call_delete")
        self.call_delete_by_id(request)

    def call_destroy(self, request: Request, obj: models.Model) -> None:
        """Deprecated name of :meth:`call_delete_row`."""
        _deprecated("call_destroy")
        self.call_delete_row(request, obj)

    def data_from(self, request: Request) -> dict[str, Any]:
        """The call's params as serializer data: a reference to a registered row becomes its key."""
        data = dict(_params(request))
        for name, field in self.reference_fields.items():
            value = data.get(name)
            rid = value.get("rid") if isinstance(value, dict) else None
            if isinstance(rid, str):
                target = self.registry.resource_for(field.related_model)
                found = self.registry.template(target.rid).match(rid)
                if found is not None:
                    data[name] = found[target.lookup]
        return data

    def validate(self, serializer: serializers.Serializer[Any]) -> None:
        if not serializer.is_valid():
            raise validation_error(serializer.errors)

    def perform_create(self, serializer: serializers.Serializer[Any], request: Request) -> models.Model:
        obj: models.Model = serializer.save()
        return obj

    def perform_update(self, serializer: serializers.Serializer[Any], request: Request) -> None:
        serializer.save()

    def perform_destroy(self, obj: models.Model, request: Request) -> None:
        obj.delete()


def _deprecated(old: str) -> None:
    warnings.warn(
        f"ModelResource.{old} is deprecated: use {DEPRECATED_HANDLERS[old]}", DeprecationWarning, stacklevel=3
    )


def _params(request: Request) -> dict[str, Any]:
    if request.params is None:
        return {}
    if not isinstance(request.params, dict):
        raise errors.invalid_params("Params must be an object")
    return request.params


def validation_error(detail: Any) -> errors.ResError:
    """``system.invalidParams`` from DRF errors: the first message, and every message per field."""
    data = _plain(detail)
    return errors.invalid_params(_first_message(data) or errors.INVALID_PARAMS.message, data)


def _plain(detail: Any) -> Any:
    if isinstance(detail, dict):
        return {str(k): _plain(v) for k, v in detail.items()}
    if isinstance(detail, list):
        return [_plain(v) for v in detail]
    return str(detail)


def _first_message(data: Any) -> str | None:
    if isinstance(data, str):
        return data
    items = data.values() if isinstance(data, dict) else data
    for item in items:
        found = _first_message(item)
        if found:
            return found
    return None
