"""The AccessRule admin: who may get which resources and call which methods.

Beside the rules, two pages listed with them in the RES bridge app (through proxy models, so a site's own
admin templates stay untouched), for whoever may view the rules: the access simulator (a user, a resource:
the decision and what made it, from :func:`res_bridge.access.explain`, the code the service decides with)
and the live gateways (every gateway's connections and subscriptions, ``res_bridge.inspection``). Each
rule's page lists the users it lets in, each linked to the simulator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from asgiref.sync import async_to_sync
from django import forms
from django.contrib import admin
from django.contrib.auth import get_permission_codename
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from res_protocol import is_valid_rid

from .access import (
    Decision,
    checked_method,
    checked_rid,
    described,
    explain,
    user_named,
    users_let_in,
)
from .inspection import InspectionError, gather, totals
from .models import AccessRule, AccessSimulator, LiveGateways

#: Users listed on a rule's page (the count is always complete).
USERS_SHOWN = 50
#: How often the live page asks for new figures (milliseconds).
LIVE_REFRESH_MS = 2000


class SimulatorForm(forms.Form):
    user = forms.CharField(
        label=_("User"),
        max_length=150,
        help_text=_("A username, or <code>-</code> for an anonymous connection."),
    )
    rid = forms.CharField(label=_("Resource ID"), max_length=1000, help_text=_("Such as library.book.1."))
    method = forms.CharField(
        label=_("Method"), max_length=255, required=False, help_text=_("Optional: may the user call it?")
    )

    def clean_user(self) -> Any:
        try:
            return user_named(self.cleaned_data["user"].strip())
        except LookupError as e:
            raise ValidationError(str(e), code="unknown_user")

    def clean_rid(self) -> str:
        try:
            return checked_rid(self.cleaned_data["rid"].strip())
        except ValueError as e:
            raise ValidationError(str(e), code="invalid_rid")

    def clean_method(self) -> str:
        method = self.cleaned_data["method"].strip()
        try:
            return method and checked_method(method)
        except ValueError as e:
            raise ValidationError(str(e), code="invalid_method")


# ModelAdmin is generic in django-stubs only: at run time it cannot be subscripted.
if TYPE_CHECKING:
    RuleAdmin = admin.ModelAdmin[AccessRule]
else:
    RuleAdmin = admin.ModelAdmin


@admin.register(AccessRule)
class AccessRuleAdmin(RuleAdmin):
    list_display = ("pattern", "subject", "can_get", "call_methods", "description", "updated_at")
    list_display_links = ("pattern",)
    list_filter = ("applies_to", "can_get", "group")
    search_fields = ("pattern", "description", "call_methods", "user__username", "group__name")
    autocomplete_fields = ("user", "group")
    readonly_fields = ("lets_in", "created_at", "updated_at")
    change_list_template = "admin/res_bridge/accessrule/change_list.html"
    fieldsets = (
        (None, {"fields": ("pattern", "description")}),
        (
            _("Applies to"),
            {
                "fields": ("applies_to", "group", "user", "lets_in"),
                "description": _("Choose a group or a user only when the rule applies to one."),
            },
        ),
        (_("Grants"), {"fields": ("can_get", "call_methods")}),
        (_("History"), {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )

    @admin.display(description=_("applies to"), ordering="applies_to")
    def subject(self, rule: AccessRule) -> str:
        return rule.subject_display()

    @admin.display(description=_("users it lets in"))
    def lets_in(self, rule: AccessRule) -> str:
        if rule.pk is None:
            return _("Shown once the rule is saved.")
        users = users_let_in(rule)
        count = users.count()
        # Every user model defines USERNAME_FIELD; django-stubs declares it on AbstractUser only.
        field = users.model.USERNAME_FIELD  # type: ignore[attr-defined]
        links = format_html_join(
            ", ",
            '<a href="{}">{}</a>',
            (
                (self.simulator_url(rule, u.get_username()), u.get_username())
                for u in users.order_by(field)[:USERS_SHOWN]
            ),
        )
        anonymous = rule.applies_to == AccessRule.AppliesTo.EVERYONE
        return format_html(
            "{}{} active user{}{}{}{}",
            _("Anonymous connections and ") if anonymous else "",
            count,
            "" if count == 1 else "s",
            ": " if count else "",
            links,
            format_html(" … and {} more", count - USERS_SHOWN) if count > USERS_SHOWN else "",
        )

    def get_queryset(self, request: HttpRequest) -> QuerySet[AccessRule]:
        return super().get_queryset(request).select_related("user", "group")

    def simulator_url(self, rule: AccessRule, username: str) -> str:
        """The simulator for the user, and for the rule's resource when its pattern names one."""
        query = {"user": username} | ({"rid": rule.pattern} if is_valid_rid(rule.pattern) else {})
        return f"{_url(self.admin_site, AccessSimulator, 'changelist')}?{urlencode(query)}"


def _url(site: admin.AdminSite, model: type[AccessRule], view: str, *args: Any) -> str:
    opts = model._meta
    return reverse(f"{site.name}:{opts.app_label}_{opts.model_name}_{view}", args=args)


class OperatorPage(RuleAdmin):
    """A page listed among the app's models: its changelist is the page, for whoever may view the rules."""

    template: str

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        opts = AccessRule._meta
        return any(
            request.user.has_perm(f"{opts.app_label}.{get_permission_codename(action, opts)}")
            for action in ("view", "change")
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        opts = self.opts
        return [
            path(
                "",
                self.admin_site.admin_view(self.changelist_view),
                name=f"{opts.app_label}_{opts.model_name}_changelist",
            )
        ]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": capfirst(self.opts.verbose_name),
            **self.page_context(request),
        }
        return TemplateResponse(request, self.template, context)

    def page_context(self, request: HttpRequest) -> dict[str, Any]:
        raise NotImplementedError()


@admin.register(AccessSimulator)
class AccessSimulatorAdmin(OperatorPage):
    """A user, a resource ID and maybe a method: the decision, and the rules or permissions behind it."""

    template = "admin/res_bridge/simulator.html"

    def page_context(self, request: HttpRequest) -> dict[str, Any]:
        asked = "rid" in request.GET
        form = SimulatorForm(request.GET if asked else None, initial={"user": request.GET.get("user", "")})
        decision = (
            explain(form.cleaned_data["user"], form.cleaned_data["rid"])
            if asked and form.is_valid()
            else None
        )
        method = form.cleaned_data.get("method", "") if decision is not None else ""
        return {
            "form": form,
            "asked_for": described(form.cleaned_data["user"]) if decision is not None else "",
            "decision": decision,
            "method": method,
            "method_allowed": decision.can_call(method) if decision is not None and method else None,
            "rule_tables": self._rule_tables(decision),
        }

    def _rule_tables(self, decision: Decision | None) -> list[dict[str, Any]]:
        """The rules matching the decision's resource (its owner's, its items'), with their change pages."""
        parts = (decision, decision.owner, decision.items) if decision is not None else ()
        return [
            {
                "rid": part.rid,
                "rows": [
                    {
                        "rule": rule,
                        "applies": applies,
                        "url": _url(self.admin_site, AccessRule, "change", rule.id),
                    }
                    for rules, applies in ((part.rules, True), (part.other_rules, False))
                    for rule in rules
                ],
            }
            for part in parts
            if part is not None and not part.superuser
        ]


@admin.register(LiveGateways)
class LiveGatewaysAdmin(OperatorPage):
    """Every gateway's connections, subscriptions and busiest resources, refreshed by the page."""

    template = "admin/res_bridge/live.html"

    def get_urls(self) -> list[URLPattern]:
        name = f"{self.opts.app_label}_{self.opts.model_name}_data"
        return [path("data/", self.admin_site.admin_view(self.data_view), name=name), *super().get_urls()]

    def page_context(self, request: HttpRequest) -> dict[str, Any]:
        return {"data_url": _url(self.admin_site, LiveGateways, "data"), "refresh_ms": LIVE_REFRESH_MS}

    def data_view(self, request: HttpRequest) -> JsonResponse:
        """``{"gateways": [...], "totals": {...}}`` from the gateways now; 503 without NATS."""
        if not self.has_view_permission(request):
            raise PermissionDenied()
        try:
            reports = async_to_sync(gather)()
        except InspectionError as e:
            return JsonResponse({"error": str(e), "gateways": [], "totals": totals([])}, status=503)
        return JsonResponse({"gateways": reports, "totals": totals(reports)})
