"""AccessRule: who may get which resources and call which methods, edited in the Django admin."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from res_protocol import is_valid_part, is_valid_pattern

ALL_METHODS = "*"


def validate_pattern(value: str) -> None:
    if not is_valid_pattern(value):
        raise ValidationError(
            _("%(value)s is not a valid resource name pattern."),
            code="invalid_pattern",
            params={"value": value},
        )


def parse_methods(value: str) -> tuple[str, ...]:
    """Split a comma-separated method list, trimming blanks; ``("*",)`` when ``*`` is among them."""
    methods = tuple(dict.fromkeys(m.strip() for m in value.split(",") if m.strip()))
    return (ALL_METHODS,) if ALL_METHODS in methods else methods


def validate_methods(value: str) -> None:
    bad = [m for m in parse_methods(value) if m != ALL_METHODS and not is_valid_part(m)]
    if bad:
        raise ValidationError(
            _("Invalid method names: %(names)s."), code="invalid_methods", params={"names": ", ".join(bad)}
        )


class AccessRule(models.Model):
    """Grants get access and call methods on every resource whose name matches ``pattern``.

    Rules only grant: a user's access to a resource is the union of every rule that matches it and applies
    to the user, plus the user's Django model permissions on the model behind the resource.
    """

    class AppliesTo(models.TextChoices):
        EVERYONE = "everyone", _("Everyone, logged in or not")
        AUTHENTICATED = "authenticated", _("Every logged-in user")
        STAFF = "staff", _("Staff users")
        GROUP = "group", _("Members of a group")
        USER = "user", _("One user")

    pattern = models.CharField(
        _("resource pattern"),
        max_length=255,
        validators=[validate_pattern],
        help_text=_(
            "Resource names this rule covers, tokens separated by dots. <code>*</code> stands for one "
            "token, a final <code>&gt;</code> for one or more: <code>library.book.*</code>, "
            "<code>library.&gt;</code>."
        ),
    )
    applies_to = models.CharField(
        _("applies to"),
        max_length=16,
        choices=AppliesTo.choices,
        default=AppliesTo.AUTHENTICATED,
        help_text=_("Who this rule grants access to."),
    )
    group = models.ForeignKey(
        "auth.Group",
        verbose_name=_("group"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="res_access_rules",
        help_text=_("Required when the rule applies to the members of a group."),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="res_access_rules",
        help_text=_("Required when the rule applies to one user."),
    )
    can_get = models.BooleanField(
        _("can get"), default=True, help_text=_("May subscribe to and read the matching resources.")
    )
    call_methods = models.CharField(
        _("call methods"),
        max_length=255,
        blank=True,
        validators=[validate_methods],
        help_text=_(
            "Comma-separated methods that may be called, such as <code>set,new,delete</code>; "
            "<code>*</code> allows every method; empty allows none."
        ),
    )
    description = models.TextField(_("description"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("access rule")
        verbose_name_plural = _("access rules")
        ordering = ["pattern", "applies_to", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(applies_to="group", group__isnull=False)
                | (~Q(applies_to="group") & Q(group=None)),
                name="res_bridge_accessrule_group_iff_group_rule",
            ),
            models.CheckConstraint(
                condition=Q(applies_to="user", user__isnull=False) | (~Q(applies_to="user") & Q(user=None)),
                name="res_bridge_accessrule_user_iff_user_rule",
            ),
        ]

    def __str__(self) -> str:
        grants = [
            g for g in ("get" if self.can_get else "", self.call_methods and f"call {self.call_methods}") if g
        ]
        return f"{self.pattern} → {self.subject_display()}: {', '.join(grants) or 'nothing'}"

    def subject_display(self) -> str:
        if self.applies_to == self.AppliesTo.GROUP and self.group_id:
            return f"group {self.group}"
        if self.applies_to == self.AppliesTo.USER and self.user_id:
            return f"user {self.user}"
        return str(self.get_applies_to_display())

    @property
    def methods(self) -> tuple[str, ...]:
        return parse_methods(self.call_methods)

    def clean(self) -> None:
        errors = {}
        if self.applies_to == self.AppliesTo.GROUP and self.group_id is None:
            errors["group"] = _("Choose the group this rule applies to.")
        if self.applies_to != self.AppliesTo.GROUP and self.group_id is not None:
            errors["group"] = _("A group is only set when the rule applies to a group.")
        if self.applies_to == self.AppliesTo.USER and self.user_id is None:
            errors["user"] = _("Choose the user this rule applies to.")
        if self.applies_to != self.AppliesTo.USER and self.user_id is not None:
            errors["user"] = _("A user is only set when the rule applies to one user.")
        if errors:
            raise ValidationError(errors)
        self.call_methods = ",".join(self.methods)


class RulesRevision(models.Model):
    """One row whose value changes, to a fresh random one, in the transaction of every AccessRule change.

    Every process compares it with the revision of the rules it holds in memory, to tell whether they are
    current. Writes that send no signals (``bulk_create``, ``QuerySet.update``, raw SQL) call :meth:`bump`.
    """

    value = models.CharField(max_length=32)

    class Meta:
        verbose_name = _("access rules revision")

    def __str__(self) -> str:
        return self.value

    @classmethod
    def bump(cls) -> str:
        """Store a fresh value and return it."""
        value = uuid.uuid4().hex
        if not cls.objects.filter(pk=1).update(value=value):
            cls.objects.update_or_create(pk=1, defaults={"value": value})
        return value

    @classmethod
    def current(cls) -> str | None:
        return cls.objects.filter(pk=1).values_list("value", flat=True).first()


class OutboxEntry(models.Model):
    """One committed change on its way to NATS, in commit order (``res_bridge.triggers``, ``.relay``).

    Database triggers write a row for every insert, update and delete of a served table (``op`` I, U, D,
    with the row before and after as JSON) and for a truncation (T); the ORM's signal handlers attach the
    events they computed inside the transaction to the trigger's row (``messages``), or add a row of
    messages of their own (M). A row deleted behind the relay's back leaves a marker (L).
    """

    INSERT, UPDATE, DELETE, TRUNCATE, MESSAGES, LOST = "I", "U", "D", "T", "M", "L"

    id = models.BigAutoField(primary_key=True)
    table = models.CharField(max_length=200, blank=True, db_column="tbl")
    key = models.CharField(max_length=400, blank=True, db_column="row_key")
    op = models.CharField(max_length=1)
    old = models.JSONField(null=True)
    new = models.JSONField(null=True)
    messages = models.JSONField(null=True)
    claimed = models.FloatField(null=True)  # when a relay took it (SQLite; PostgreSQL locks rows instead)

    class Meta:
        db_table = "res_bridge_outbox"
        indexes = [models.Index(fields=["table", "key", "id"], name="res_bridge_outbox_row")]
        verbose_name = _("outbox entry")
        verbose_name_plural = _("outbox entries")

    def __str__(self) -> str:
        return f"{self.op} {self.table} {self.key}".strip()


class OutboxAttempt(models.Model):
    """An outbox row a relay began to send, committed before it published anything (``res_bridge.relay``).

    The relay deletes it with the row once NATS has confirmed the row's events. Still there when a relay
    claims the row, it says that the row's events may have gone out already: they are not sent again.
    """

    id = models.BigIntegerField(primary_key=True)  # the outbox row's id

    class Meta:
        db_table = "res_bridge_outbox_attempt"
        verbose_name = _("outbox attempt")
        verbose_name_plural = _("outbox attempts")


class AccessSimulator(AccessRule):
    """No table of its own: the entry of the admin's access simulator page in the RES bridge app list."""

    class Meta:
        proxy = True
        default_permissions = ()  # it asks for the permission to view access rules
        verbose_name = verbose_name_plural = _("access simulator")


class LiveGateways(AccessRule):
    """No table of its own: the entry of the admin's live gateways page in the RES bridge app list."""

    class Meta:
        proxy = True
        default_permissions = ()  # it asks for the permission to view access rules
        verbose_name = verbose_name_plural = _("live gateways")
