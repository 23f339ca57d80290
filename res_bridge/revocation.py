"""Revocation in real time: tell gateways when access may have changed, so open connections follow at once.

- An AccessRule saved or deleted: a new rules revision (so every process reloads its cached rules), and
  ``system.reset`` with the rule's pattern (old and new) as access patterns, so gateways re-check access on
  every matching resource.
- A user's groups or permissions, a group's permissions, a group deleted, a user's active, staff or
  superuser flag or password changed, a user deleted, a DRF token deleted, a logout through Django:
  ``system.tokenReset`` with the users' tids and the refresh subject, so gateways have every connection of
  those users re-authenticated (``refresh`` re-issues or clears the token, and access is checked again).
- Either: a new access revision, ``event.<AUTH_RID>.access.change`` (``res_bridge.revision``), so pages
  that were denied a resource, and hold no subscription a reset could re-check, know to try again.

Everything goes through the outbox in the changing transaction (``res_bridge.outbox``), so the relay
publishes it once the transaction commits, even if the process dies right after: a rolled-back change
publishes nothing, and a committed one is never lost.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model, user_logged_out
from django.contrib.auth.models import Group
from django.db import DEFAULT_DB_ALIAS
from django.db.models import Model
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete, pre_save

from res_protocol import dumps, is_valid_pattern

from . import outbox, publisher, revision
from .models import AccessRule
from .tokens import refresh_subject, tid_for

#: User fields whose change alters what the user may do, or ends their logins (the password).
USER_FIELDS = ("is_active", "is_staff", "is_superuser", "password")


def connect_signals() -> None:
    """Connect every revocation trigger (called from the app's ``ready()``)."""
    user_model = get_user_model()
    uid = "res_bridge.revocation."
    pre_save.connect(_remember_rule_pattern, sender=AccessRule, dispatch_uid=uid + "rule_pre_save")
    post_save.connect(_rule_changed, sender=AccessRule, dispatch_uid=uid + "rule_saved")
    post_delete.connect(_rule_changed, sender=AccessRule, dispatch_uid=uid + "rule_deleted")
    pre_save.connect(_remember_user_fields, sender=user_model, dispatch_uid=uid + "user_pre_save")
    post_save.connect(_user_saved, sender=user_model, dispatch_uid=uid + "user_saved")
    post_delete.connect(_user_deleted, sender=user_model, dispatch_uid=uid + "user_deleted")
    pre_delete.connect(_group_deleted, sender=Group, dispatch_uid=uid + "group_deleted")
    user_logged_out.connect(_logged_out, dispatch_uid=uid + "logged_out")
    m2m_changed.connect(
        _group_permissions_changed, sender=Group.permissions.through, dispatch_uid=uid + "group_permissions"
    )
    if apps.is_installed("rest_framework.authtoken"):
        post_delete.connect(
            _api_token_deleted, sender="authtoken.Token", dispatch_uid=uid + "api_token_deleted"
        )
    for relation in ("groups", "user_permissions"):
        descriptor = getattr(user_model, relation, None)
        if descriptor is not None and hasattr(descriptor, "through"):
            m2m_changed.connect(
                _user_relation_changed, sender=descriptor.through, dispatch_uid=f"{uid}user_{relation}"
            )


def reset_access(patterns: Iterable[str]) -> None:
    """Publish ``system.reset`` for these access patterns once the current transaction commits."""
    access = sorted({p for p in patterns if p and is_valid_pattern(p)})
    if access:
        outbox.write(DEFAULT_DB_ALIAS, outbox.encode([publisher.reset_message(access=access)]))


def reset_tokens(user_ids: Iterable[Any]) -> None:
    """Publish ``system.tokenReset`` for these users once the current transaction commits."""
    tids = sorted({tid_for(pk) for pk in user_ids if pk is not None})
    if tids:
        message = ("system.tokenReset", dumps({"tids": tids, "subject": refresh_subject()}))
        outbox.write(DEFAULT_DB_ALIAS, outbox.encode([message]))
        revision.bump()


# AccessRule


def _remember_rule_pattern(
    sender: type[AccessRule], instance: AccessRule, raw: bool = False, **kwargs: Any
) -> None:
    if instance.pk is not None and not raw:
        instance.__dict__["_res_previous_pattern"] = (
            sender._default_manager.filter(pk=instance.pk).values_list("pattern", flat=True).first()
        )


def _rule_changed(sender: type[AccessRule], instance: AccessRule, **kwargs: Any) -> None:
    reset_access([instance.pattern, instance.__dict__.pop("_res_previous_pattern", None)])
    revision.bump()


# Users, groups, permissions


def _remember_user_fields(sender: type[Model], instance: Model, raw: bool = False, **kwargs: Any) -> None:
    update_fields = kwargs.get("update_fields")
    if raw or instance.pk is None:
        return
    fields = [
        f for f in USER_FIELDS if hasattr(instance, f) and (update_fields is None or f in update_fields)
    ]
    if fields:
        instance.__dict__["_res_previous"] = (
            sender._default_manager.filter(pk=instance.pk).values(*fields).first()
        )


def _user_saved(sender: type[Model], instance: Model, created: bool, **kwargs: Any) -> None:
    previous = instance.__dict__.pop("_res_previous", None)
    if previous and any(getattr(instance, field) != value for field, value in previous.items()):
        reset_tokens([instance.pk])


def _user_deleted(sender: type[Model], instance: Model, **kwargs: Any) -> None:
    reset_tokens([instance.pk])


def _group_deleted(sender: type[Group], instance: Group, **kwargs: Any) -> None:
    reset_tokens(instance.user_set.values_list("pk", flat=True))


def _api_token_deleted(sender: type[Model], instance: Any, **kwargs: Any) -> None:
    reset_tokens([instance.user_id])


def _logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is None or not user.is_authenticated:
        return
    # logout() flushes the session right after this signal; ending it now means no refresh request caused
    # by the reset below can still find it alive.
    session = getattr(request, "session", None)
    if session is not None and session.session_key:
        session.delete()
    reset_tokens([user.pk])


def _user_relation_changed(sender: type[Model], **kwargs: Any) -> None:
    """A user's groups or user permissions changed (from either side of the relation)."""
    reset_tokens(_changed_sources(sender, **kwargs))


def _group_permissions_changed(sender: type[Model], **kwargs: Any) -> None:
    group_ids = _changed_sources(sender, **kwargs)
    if group_ids:
        reset_tokens(
            get_user_model()._default_manager.filter(groups__in=group_ids).values_list("pk", flat=True)
        )


def _changed_sources(
    sender: type[Model], instance: Model, action: str, reverse: bool, pk_set: set[Any] | None, **kwargs: Any
) -> list[Any]:
    """The pks of the rows on the source side of an m2m relation (the user, the group) whose links changed.

    Cleared from the target side (``group.user_set.clear()``), the sources are read before the clear.
    """
    if action in ("post_add", "post_remove") and not pk_set:
        return []
    if not reverse:
        return [instance.pk] if action in ("post_add", "post_remove", "post_clear") else []
    concrete = instance._meta.concrete_model
    assert concrete is not None  # an instance's model is never abstract
    source, target = _through_fields(sender, concrete)
    stash = f"_res_cleared_{sender._meta.label_lower}"
    if action == "pre_clear":
        instance.__dict__[stash] = list(
            sender._default_manager.filter(**{target: instance.pk}).values_list(source, flat=True)
        )
        return []
    if action == "post_clear":
        cleared: list[Any] = instance.__dict__.pop(stash, [])
        return cleared
    return list(pk_set or ()) if action in ("post_add", "post_remove") else []


def _through_fields(through: type[Model], target_model: type[Model]) -> tuple[str, str]:
    """Names of the through model's source and target foreign keys (the target pointing at target_model)."""
    fks = [f for f in through._meta.get_fields() if f.many_to_one and f.concrete]
    target = next(f for f in fks if f.related_model is target_model)
    source = next(f for f in fks if f is not target)
    return source.attname, target.name
