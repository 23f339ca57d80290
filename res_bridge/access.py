"""Access decisions: may the user behind a token get a resource, and which methods may it call.

Superusers may do everything. Everybody else gets the union of every matching AccessRule that applies to
them, plus what their Django model permissions allow on the model behind the resource (view → get,
change → ``set``, add → ``new``, delete → ``delete``).

A relation collection (``library.shelf.1.books``) may be read when its owner (``library.shelf.1``) may be
read and so may every item it can hold (``library.book.*``: a rule covering them all, or the item model's
view permission), or when a rule matches the relation itself. Both are needed because RES gives a client the
resources a collection references without asking their access: the items' rules must allow them before the
owner's visibility lets the collection show them. Permissions on the item model never open another
owner's relation.

A model resource whose class defines ``has_access(request, obj)`` (``ModelResource.has_access``) adds what
it grants for the row, as DRF's ``has_object_permission`` does; a row that does not exist grants nothing.

:class:`AccessPolicy` is the default ``RES_BRIDGE["ACCESS_POLICY"]``: made with the registry a service
serves, its :meth:`~AccessPolicy.explain` decides and says why (a :class:`Decision` with what granted),
and :meth:`~AccessPolicy.decide`, what the service answers access requests with, is that decision's access.
:func:`explain` and :func:`decide` ask the configured policy for the default registry (``manage.py
resaccess``, the admin's simulator).

Rules are kept in memory per process, with the revision they were read at. Every decision reads the current
revision (:class:`~res_bridge.models.RulesRevision`, one row by primary key), so a rule saved, added or
deleted by any process (the admin in the web process, say) is seen by the next decision here.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django.contrib.auth import get_permission_codename, get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db import models

from res_protocol import Access, Pattern, ResError, is_valid_part, is_valid_rid, split_rid

from .conf import bridge_settings
from .models import ALL_METHODS, AccessRule, RulesRevision
from .registry import MODEL, RELATION, Registry, registry
from .requests import Request
from .resources import ModelResource

_UNREAD = object()

#: Django permission action → what it grants on a resource of that model: (get, call methods).
PERMISSION_GRANTS: dict[str, tuple[bool, tuple[str, ...]]] = {
    "view": (True, ()),
    "change": (False, ("set",)),
    "add": (False, ("new",)),
    "delete": (False, ("delete",)),
}


@dataclass(frozen=True, slots=True)
class CompiledRule:
    id: int
    pattern: Pattern
    applies_to: str
    group_id: int | None
    user_id: int | None
    can_get: bool
    methods: tuple[str, ...]
    subject: str  # who it applies to, for people: "user alice"

    def applies(self, user: Any, group_ids: frozenset[int]) -> bool:
        who = self.applies_to
        if who == AccessRule.AppliesTo.EVERYONE:
            return True
        if not user.is_authenticated:
            return False
        if who == AccessRule.AppliesTo.AUTHENTICATED:
            return True
        if who == AccessRule.AppliesTo.STAFF:
            return bool(user.is_staff)
        if who == AccessRule.AppliesTo.GROUP:
            return self.group_id in group_ids
        return who == AccessRule.AppliesTo.USER and self.user_id == user.pk

    def grants(self) -> str:
        """What it grants, for people: ``get, call set,new``."""
        return _grants_text(Access(self.can_get, ",".join(self.methods)))

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "pattern": self.pattern.pattern,
            "applies_to": self.applies_to,
            "subject": self.subject,
            "get": self.can_get,
            "call": list(self.methods),
        }


class RuleCache:
    """The AccessRule table compiled in memory, reloaded when the rules revision changes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._revision: object = _UNREAD
        self._rules: tuple[CompiledRule, ...] = ()

    def rules(self) -> tuple[CompiledRule, ...]:
        revision = RulesRevision.current()
        if revision != self._revision:
            with self._lock:
                if revision != self._revision:
                    self._rules = tuple(self._compile(AccessRule.objects.select_related("user", "group")))
                    self._revision = revision
        return self._rules

    def clear(self) -> None:
        with self._lock:
            self._revision = _UNREAD
            self._rules = ()

    @staticmethod
    def _compile(rules: Iterable[AccessRule]) -> Iterable[CompiledRule]:
        for rule in rules:
            try:
                pattern = Pattern(rule.pattern)
            except ValueError:  # written around validation; such a rule grants nothing
                continue
            yield CompiledRule(
                rule.pk,
                pattern,
                rule.applies_to,
                rule.group_id,
                rule.user_id,
                rule.can_get,
                rule.methods,
                rule.subject_display(),
            )


rule_cache = RuleCache()


def _grants_text(access: Access) -> str:
    """An access for people: ``get, call set,new``, or ``nothing``."""
    parts = ["get" if access.get else "", f"call {access.call}" if access.call else ""]
    return ", ".join(p for p in parts if p) or "nothing"


@dataclass(frozen=True)
class Decision:
    """An access decision and what made it: the rules and model permissions that granted, for a relation
    also the decisions on its owner and its items."""

    rid: str
    access: Access
    user: Any
    superuser: bool = False
    #: Rules whose pattern matches the resource name and that apply to the user: they granted.
    rules: tuple[CompiledRule, ...] = ()
    #: Rules whose pattern matches, applying to somebody else.
    other_rules: tuple[CompiledRule, ...] = ()
    #: Model permissions (``library.view_book``) the user has that granted.
    permissions: tuple[str, ...] = ()
    #: For a relation collection: the decisions on its owner and on all its items (``library.book.*``);
    #: it may be read when both may.
    owner: Decision | None = None
    items: Decision | None = None
    #: Whether a registered resource is served under the name.
    served: bool = True
    #: What the resource's ``has_access`` granted for the row (``None``: not asked), and which one it was.
    row_access: Access | None = None
    row_hook: str = ""

    @property
    def reasons(self) -> list[str]:
        """What decided, one line each: the granting rules, permissions and owner, or why nothing did."""
        if self.superuser:
            return ["superuser: may get every resource and call every method"]
        parts = [f"rule #{r.id} ({r.pattern.pattern} → {r.subject}) grants {r.grants()}" for r in self.rules]
        for permission in self.permissions:
            get, methods = _permission_grants(permission)
            parts.append(f"permission {permission} grants {'get' if get else 'call ' + ','.join(methods)}")
        if self.row_access is not None:
            parts.append(f"{self.row_hook} grants {_grants_text(self.row_access)} for this row")
        for role, found in (("owner", self.owner), ("items", self.items)):
            if found is not None:
                verdict = "may be read" if found.access.get else "may not be read"
                parts.append(f"its {role} {found.rid} {verdict} ({found.reason})")
        if not self.access.get and not self.access.call:
            denied = "denied: no access rule or model permission grants anything"
            if self.owner is not None:
                denied = "denied: its owner and its items must both be readable, or a rule must match it"
            parts.insert(0, denied)
        if not self.served:
            parts.append(f"no registered resource is served as {split_rid(self.rid)[0]}")
        return parts

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)

    def can_call(self, method: str) -> bool:
        return self.access.can_call(method)

    def to_json(self) -> dict[str, Any]:
        call = self.access.call
        return {
            "rid": self.rid,
            "user": self.user.get_username() if self.user.is_authenticated else None,
            "get": self.access.get,
            "call": ALL_METHODS if call == ALL_METHODS else [m for m in call.split(",") if m],
            "rules": [r.to_json() for r in self.rules],
            "other_rules": [r.to_json() for r in self.other_rules],
            "permissions": list(self.permissions),
            "superuser": self.superuser,
            "owner": self.owner.to_json() if self.owner is not None else None,
            "items": self.items.to_json() if self.items is not None else None,
            "has_access": None if self.row_access is None else _row_json(self.row_hook, self.row_access),
            "reason": self.reason,
        }


def _row_json(hook: str, access: Access) -> dict[str, Any]:
    return {"hook": hook, "get": access.get, "call": [m for m in access.call.split(",") if m]}


def _permission_grants(permission: str) -> tuple[bool, tuple[str, ...]]:
    """What a model permission (``library.change_book``: action, then model name) grants."""
    return PERMISSION_GRANTS[permission.partition(".")[2].partition("_")[0]]


class _Asker:
    """The user a decision is for, with their groups read once and only when a group rule matches, and the
    request ``has_access`` hooks get."""

    def __init__(self, user: Any, request: Request) -> None:
        self.user = user
        self.request = request

    @cached_property
    def group_ids(self) -> frozenset[int]:
        return frozenset(self.user.groups.values_list("pk", flat=True))


class AccessPolicy:
    """The default access policy (see the module docstring), for the resources of ``registry``.

    A policy of one's own is any class made with the registry (``Policy(registry)``) that has
    ``decide(request) -> Access``; ``explain(user, rid, request=None) -> Decision`` serves ``resaccess`` and
    the admin's simulator. Subclass this one to change a part. The service makes one per access request.
    """

    def __init__(self, registry: Registry = registry) -> None:
        self.registry = registry

    def decide(self, request: Request) -> Access:
        """The access the user of an access request (its token's) has to its resource."""
        return self.explain(request.user, request.rid, request).access

    def explain(
        self, user: AbstractBaseUser | AnonymousUser, rid: str, request: Request | None = None
    ) -> Decision:
        """The access ``user`` has to ``rid``, with what decided it; ``request`` is what ``has_access`` hooks
        get (one is made for ``user`` without it). An inactive user is decided as anonymous, as their
        connections are."""
        if user.is_authenticated and not user.is_active:
            user = AnonymousUser()
        if getattr(user, "is_superuser", False):  # a user model without PermissionsMixin has none
            return Decision(rid, Access(get=True, call=ALL_METHODS), user, superuser=True)
        if request is None:
            name, query = split_rid(rid)
            request = Request.made_for(user, "access", name, query)
        return self._decide(_Asker(user, request), rid)

    def _decide(self, asker: _Asker, rid: str, row: bool = True) -> Decision:
        """``row``: whether ``rid`` may name one row (an items pattern, ``library.book.*``, does not)."""
        user = asker.user
        name, _query = split_rid(rid)
        applied: list[CompiledRule] = []
        others: list[CompiledRule] = []
        for rule in rule_cache.rules():
            if rule.pattern.matches(name):
                group_ids = asker.group_ids if rule.applies_to == AccessRule.AppliesTo.GROUP else frozenset()
                (applied if rule.applies(user, group_ids) else others).append(rule)
        grants = Grants()
        for rule in applied:
            grants.add(rule.can_get, rule.methods)
        owner, items, model, row_access, row_hook = None, None, None, None, ""
        found = self.registry.resolve(name)
        if found is not None:
            route, params = found
            resource = route.resource
            if route.kind == RELATION:
                owner = self._decide(asker, resource.rid_for(params[resource.lookup]))
                items = self._items_decision(asker, resource, route.relation)
                grants.add(owner.access.get and items is not None and items.access.get, ())
            else:
                model = resource.model
                if route.kind == MODEL and row and _has_hook(resource):
                    row_hook = f"{type(resource).__name__}.has_access"
                    row_access = _row_access(resource, asker.request, params[resource.lookup])
                    grants.add(row_access.get, [m for m in row_access.call.split(",") if m])
        permissions = _granting_permissions(user, model) if model is not None else []
        for permission in permissions:
            grants.add(*_permission_grants(permission))
        return Decision(
            rid,
            grants.access(),
            user,
            rules=tuple(applied),
            other_rules=tuple(others),
            permissions=tuple(permissions),
            owner=owner,
            items=items,
            served=found is not None,
            row_access=row_access,
            row_hook=row_hook,
        )

    def _items_decision(self, asker: _Asker, owner: Any, relation: str) -> Decision | None:
        """The decision on every item a relation can hold: its item resource's RID pattern
        (``library.book.*``), which only rules covering all of them match; ``None`` when the item model is
        not served."""
        found = self.registry.relation(owner, relation)
        if found is None or not self.registry.is_registered(found.item_model):
            return None
        pattern = self.registry.template(self.registry.resource_for(found.item_model).rid).pattern
        return self._decide(asker, pattern, row=False)


def _has_hook(resource: ModelResource) -> bool:
    """Whether the resource's class defines ``has_access`` (only then is the row read)."""
    return type(resource).has_access is not ModelResource.has_access


def _row_access(resource: ModelResource, request: Request, key: str) -> Access:
    """What ``has_access`` grants for the row under ``key``: nothing when there is no such row."""
    try:
        obj = resource.get_object(key)
    except ResError:
        return Access()
    return resource.has_access(request, obj) or Access()


def policy(reg: Registry = registry) -> AccessPolicy:
    """The ``ACCESS_POLICY`` setting's policy for ``reg``."""
    policy_class: type[AccessPolicy] = bridge_settings.ACCESS_POLICY
    return policy_class(reg)


def explain(user: AbstractBaseUser | AnonymousUser, rid: str) -> Decision:
    """The configured policy's decision on ``rid`` for ``user``, with what decided it (default registry)."""
    return policy().explain(user, rid)


def decide(token: Any, rid: str) -> Access:
    """The access the holder of ``token`` has to ``rid`` (its query, if any, does not matter)."""
    name, query = split_rid(rid)
    return policy().decide(Request("access", name, query=query, token=token))


def _granting_permissions(user: Any, model: type[models.Model]) -> list[str]:
    if not user.is_authenticated:
        return []
    names = (f"{model._meta.app_label}.{get_permission_codename(a, model._meta)}" for a in PERMISSION_GRANTS)
    return [name for name in names if user.has_perm(name)]


class Grants:
    """Accumulates grants: get if any grants it; call methods merged (sorted), ``*`` dominating."""

    def __init__(self) -> None:
        self.get = False
        self.methods: set[str] = set()

    def add(self, get: bool, methods: Iterable[str]) -> None:
        self.get = self.get or get
        self.methods.update(methods)

    def access(self) -> Access:
        call = ALL_METHODS if ALL_METHODS in self.methods else ",".join(sorted(self.methods))
        return Access(get=self.get, call=call)


def users_let_in(rule: AccessRule) -> models.QuerySet[AbstractBaseUser]:
    """The active users ``rule`` applies to (a rule for everyone lets in anonymous connections too)."""
    users = get_user_model()._default_manager.filter(is_active=True)
    who = rule.applies_to
    if who == AccessRule.AppliesTo.STAFF:
        return users.filter(is_staff=True)
    if who == AccessRule.AppliesTo.GROUP:
        return users.filter(groups=rule.group_id)
    if who == AccessRule.AppliesTo.USER:
        return users.none() if rule.user_id is None else users.filter(pk=rule.user_id)
    return users


ANONYMOUS = "-"


def described(user: AbstractBaseUser | AnonymousUser) -> str:
    """Who a decision is asked for, for people: ``bob``, ``An anonymous connection``, or for an inactive
    user ``bob (inactive: decided as anonymous)``."""
    if not user.is_authenticated:
        return "An anonymous connection"
    return user.get_username() + ("" if user.is_active else " (inactive: decided as anonymous)")


def user_named(username: str) -> AbstractBaseUser | AnonymousUser:
    """The user with this username, or an anonymous one for ``-``; :class:`LookupError` for nobody."""
    if username == ANONYMOUS:
        return AnonymousUser()
    user_model = get_user_model()
    try:
        return user_model._default_manager.get_by_natural_key(username)
    except user_model.DoesNotExist:
        raise LookupError(f"no user named {username!r} (use {ANONYMOUS} for an anonymous connection)")


def checked_rid(rid: str) -> str:
    """``rid`` when it is a resource ID a connection could ask for; :class:`ValueError` saying why not."""
    if not is_valid_rid(rid):
        raise ValueError(f"{rid!r} is not a valid resource ID (dot-separated parts, such as library.book.1)")
    return rid


def checked_method(method: str) -> str:
    """``method`` when it is a name a call could use; :class:`ValueError` saying why not."""
    if not is_valid_part(method):
        raise ValueError(f"{method!r} is not a valid method name (one part of a resource ID, such as set)")
    return method
