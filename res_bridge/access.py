"""Access decisions: may the user behind a token get a resource, and which methods may it call.

Superusers may do everything. Everybody else gets the union of every matching AccessRule that applies to
them, plus what their Django model permissions allow on the model behind the resource (view → get,
change → ``set``, add → ``new``, delete → ``delete``).

Rules are kept in memory per process, with the revision they were read at. Every decision reads the current
revision (:class:`~res_bridge.models.RulesRevision`, one row by primary key), so a rule saved, added or
deleted by any process (the admin in the web process, say) is seen by the next decision here.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_permission_codename

from res_protocol import Access, Pattern, split_rid

from .models import ALL_METHODS, AccessRule, RulesRevision
from .registry import registry
from .tokens import user_from_token

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
    pattern: Pattern
    applies_to: str
    group_id: int | None
    user_id: int | None
    can_get: bool
    methods: tuple[str, ...]

    def applies(self, user: Any, group_ids: frozenset[int]) -> bool:
        who = self.applies_to
        if who == AccessRule.AppliesTo.EVERYONE:
            return True
        if not user.is_authenticated:
            return False
        if who == AccessRule.AppliesTo.AUTHENTICATED:
            return True
        if who == AccessRule.AppliesTo.STAFF:
            return user.is_staff
        if who == AccessRule.AppliesTo.GROUP:
            return self.group_id in group_ids
        return who == AccessRule.AppliesTo.USER and self.user_id == user.pk


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
                    self._rules = tuple(self._compile(AccessRule.objects.all()))
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
                pattern, rule.applies_to, rule.group_id, rule.user_id, rule.can_get, rule.methods
            )


rule_cache = RuleCache()


def decide(token: Any, rid: str) -> Access:
    """The access the holder of ``token`` has to ``rid`` (its query, if any, does not matter)."""
    user = user_from_token(token)
    if user.is_superuser:
        return Access(get=True, call=ALL_METHODS)
    name, _query = split_rid(rid)
    grants = Grants()
    matching = [rule for rule in rule_cache.rules() if rule.pattern.matches(name)]
    needs_groups = user.is_authenticated and any(r.applies_to == AccessRule.AppliesTo.GROUP for r in matching)
    group_ids = frozenset(user.groups.values_list("pk", flat=True)) if needs_groups else frozenset()
    for rule in matching:
        if rule.applies(user, group_ids):
            grants.add(rule.can_get, rule.methods)
    model = registry.model_for(name) if user.is_authenticated else None
    if model is not None:
        for action, (get, methods) in PERMISSION_GRANTS.items():
            if user.has_perm(f"{model._meta.app_label}.{get_permission_codename(action, model._meta)}"):
                grants.add(get, methods)
    return grants.access()


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
