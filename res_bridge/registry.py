"""The registry of resource classes: which model is served under which RIDs, and routing of names.

``registry`` is the default instance (like ``admin.site``); ``register`` adds a resource class
to it. Every app's ``resources`` module is imported when Django starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django.db import models

from .resources import ModelResource

MODEL, COLLECTION, RELATION = "model", "collection", "relation"


@dataclass(frozen=True)
class RidTemplate:
    """A resource name with ``{param}`` tokens, such as ``library.book.{pk}.loans``."""

    text: str
    tokens: tuple[str, ...]
    params: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> RidTemplate:
        tokens = tuple(text.split("."))
        params = tuple(t[1:-1] for t in tokens if t.startswith("{") and t.endswith("}") and len(t) > 2)
        return cls(text, tokens, params)

    @property
    def pattern(self) -> str:
        """The resource name pattern it serves (``library.book.*.loans``)."""
        return ".".join("*" if _is_param(t) else t for t in self.tokens)

    def match(self, name: str) -> dict[str, str] | None:
        parts = name.split(".")
        if len(parts) != len(self.tokens):
            return None
        found = {}
        for token, part in zip(self.tokens, parts, strict=True):
            if _is_param(token):
                found[token[1:-1]] = part
            elif token != part:
                return None
        return found


def _is_param(token: str) -> bool:
    return token.startswith("{") and token.endswith("}") and len(token) > 2


@dataclass(frozen=True)
class Route:
    kind: str  # MODEL, COLLECTION or RELATION
    resource: ModelResource
    template: RidTemplate
    relation: str = ""


@dataclass(frozen=True)
class Relation:
    """A relation collection: the rows of ``item_model`` one row of ``owner.model`` holds."""

    owner: ModelResource
    name: str
    item_model: type[models.Model]
    item_lookup: str  # items of one owner: item_model.filter(<item_lookup>=owner pk)
    owner_lookup: str  # owners of one item: owner.model.filter(<owner_lookup>=item pk)
    through: type[models.Model] | None  # for many-to-many relations
    fk_attname: str = ""  # for reverse foreign keys: the item's column holding the owner's key

    @classmethod
    def of(cls, owner: ModelResource, name: str) -> Relation | None:
        field = owner.model_field(name)
        if isinstance(field, models.ManyToManyField):
            return cls(
                owner,
                name,
                field.related_model,
                field.related_query_name(),
                field.name,
                field.remote_field.through,
            )
        if isinstance(field, models.ManyToManyRel):
            return cls(owner, name, field.related_model, field.field.name, field.name, field.through)
        if isinstance(field, models.ManyToOneRel) and not field.one_to_one:
            return cls(
                owner, name, field.related_model, field.field.name, field.name, None, field.field.attname
            )
        return None

    def rid(self, owner_key: Any) -> str:
        return self.owner.relation_rid(self.name, owner_key)

    def items(self, owner_pk: Any, item_resource: ModelResource) -> models.QuerySet[models.Model]:
        return (
            item_resource.get_queryset()
            .filter(**{self.item_lookup: owner_pk})
            .order_by(*item_resource.order_by)
        )


class Registry:
    """Resource classes by model, and the routes from resource names to them."""

    def __init__(self) -> None:
        self._resources: dict[type[models.Model], ModelResource] = {}

    def register(self, resource_class: type[ModelResource]) -> type[ModelResource]:
        """Serve ``resource_class.model``; usable as a class decorator."""
        model = resource_class.model
        if model in self._resources:
            raise ValueError(f"{model.__name__} is already registered")
        self._resources[model] = resource_class(self)
        self.__dict__.pop("routes", None)
        self.__dict__.pop("relations", None)
        return resource_class

    @property
    def resources(self) -> list[ModelResource]:
        return list(self._resources.values())

    def is_registered(self, model: type[models.Model]) -> bool:
        return model in self._resources

    def resource_for(self, model: type[models.Model]) -> ModelResource:
        return self._resources[model]

    @staticmethod
    def template(text: str) -> RidTemplate:
        return RidTemplate.parse(text)

    @cached_property
    def routes(self) -> list[Route]:
        routes = []
        for resource in self._resources.values():
            routes.append(Route(MODEL, resource, RidTemplate.parse(resource.rid)))
            if resource.collection:
                routes.append(Route(COLLECTION, resource, RidTemplate.parse(resource.collection)))
            for name, rid in resource.relations.items():
                routes.append(Route(RELATION, resource, RidTemplate.parse(rid), name))
        return routes

    def resolve(self, name: str) -> tuple[Route, dict[str, str]] | None:
        """The route serving the resource name, and its parameters."""
        for route in self.routes:
            params = route.template.match(name)
            if params is not None:
                return route, params
        return None

    def model_for(self, name: str) -> type[models.Model] | None:
        """The model served under a resource name (a collection's item model for collections)."""
        found = self.resolve(name)
        if found is None:
            return None
        route = found[0]
        if route.kind == RELATION:
            relation = self.relation(route.resource, route.relation)
            return relation.item_model if relation else None
        return route.resource.model

    @cached_property
    def relations(self) -> list[Relation]:
        found = [
            Relation.of(resource, name)
            for resource in self._resources.values()
            for name in resource.relations
        ]
        return [r for r in found if r is not None]

    def relation(self, owner: ModelResource, name: str) -> Relation | None:
        return next((r for r in self.relations if r.owner is owner and r.name == name), None)

    def namespaces(self) -> list[str]:
        """The first parts of every served resource name (``library``), sorted."""
        return sorted({route.template.tokens[0] for route in self.routes})


registry = Registry()


def register(resource_class: type[ModelResource]) -> type[ModelResource]:
    """Register a resource class with the default registry (a class decorator)."""
    return registry.register(resource_class)


def model_for(name: str) -> type[models.Model] | None:
    return registry.model_for(name)
