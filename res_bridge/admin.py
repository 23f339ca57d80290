"""The AccessRule admin: who may get which resources and call which methods.

Beside the rules: an access simulator (a user, a resource: the decision and what made it, from
:func:`res_bridge.access.explain`, the code the service decides with), each rule's page listing the users
it lets in, and a live page of every gateway's connections and subscriptions (``res_bridge.inspection``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from asgiref.sync import async_to_sync
from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from res_protocol import is_valid_rid

from .access import ANONYMOUS, Decision, explain, user_named, users_let_in
from .inspection import InspectionError, gather, totals
from .models import AccessRule

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
        rid = self.cleaned_data["rid"].strip()
        if not is_valid_rid(rid):
            raise ValidationError(
                _("%(rid)s is not a valid resource ID (dot-separated parts, such as library.book.1)."),
                code="invalid_rid",
                params={"rid": rid},
            )
        return rid


@admin.register(AccessRule)
class AccessRuleAdmin(admin.ModelAdmin):
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
        field = users.model.USERNAME_FIELD
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

    # -- the simulator and the live page ------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        name = f"{self.opts.app_label}_{self.opts.model_name}"
        view = self.admin_site.admin_view
        return [
            path("simulator/", view(self.simulator_view), name=f"{name}_simulator"),
            path("live/", view(self.live_view), name=f"{name}_live"),
            path("live/data/", view(self.live_data_view), name=f"{name}_live_data"),
            *super().get_urls(),
        ]

    def simulator_url(self, rule: AccessRule, username: str) -> str:
        """The simulator for the user, and for the rule's resource when its pattern names one."""
        query = {"user": username} | ({"rid": rule.pattern} if is_valid_rid(rule.pattern) else {})
        return f"{self._url('simulator')}?{urlencode(query)}"

    def simulator_view(self, request: HttpRequest) -> HttpResponse:
        """A user, a resource ID and maybe a method: the decision, and the rules or permissions behind it."""
        if not self.has_view_permission(request):
            raise PermissionDenied()
        asked = "rid" in request.GET
        form = SimulatorForm(request.GET if asked else None, initial={"user": request.GET.get("user", "")})
        decision = (
            explain(form.cleaned_data["user"], form.cleaned_data["rid"])
            if asked and form.is_valid()
            else None
        )
        method = form.cleaned_data.get("method", "") if decision is not None else ""
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Access simulator"),
            "form": form,
            "anonymous": ANONYMOUS,
            "decision": decision,
            "method": method,
            "method_allowed": decision.can_call(method) if decision is not None and method else None,
            "rule_tables": self._rule_tables(decision),
        }
        return TemplateResponse(request, "admin/res_bridge/accessrule/simulator.html", context)

    def _rule_tables(self, decision: Decision | None) -> list[dict[str, Any]]:
        """The rules matching the decision's resource (its owner's, its items'), with their change pages."""
        parts = (decision, decision.owner, decision.items) if decision is not None else ()
        return [
            {
                "rid": part.rid,
                "rows": [
                    {"rule": rule, "applies": applies, "url": self._url("change", rule.id)}
                    for rules, applies in ((part.rules, True), (part.other_rules, False))
                    for rule in rules
                ],
            }
            for part in parts
            if part is not None and not part.superuser
        ]

    def _url(self, view: str, *args: Any) -> str:
        return reverse(
            f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_{view}", args=args
        )

    def live_view(self, request: HttpRequest) -> HttpResponse:
        """Every gateway's connections, subscriptions and busiest resources, refreshed by the page."""
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Live gateways"),
            "data_url": reverse(
                f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_live_data"
            ),
            "refresh_ms": LIVE_REFRESH_MS,
        }
        return TemplateResponse(request, "admin/res_bridge/accessrule/live.html", context)

    def live_data_view(self, request: HttpRequest) -> JsonResponse:
        """``{"gateways": [...], "totals": {...}}`` from the gateways now; 503 without NATS."""
        try:
            reports = async_to_sync(gather)()
        except InspectionError as e:
            return JsonResponse({"error": str(e), "gateways": [], "totals": totals([])}, status=503)
        return JsonResponse({"gateways": reports, "totals": totals(reports)})
