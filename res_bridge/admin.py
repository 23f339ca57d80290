"""The AccessRule admin: who may get which resources and call which methods."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from .models import AccessRule


@admin.register(AccessRule)
class AccessRuleAdmin(admin.ModelAdmin):
    list_display = ("pattern", "subject", "can_get", "call_methods", "description", "updated_at")
    list_display_links = ("pattern",)
    list_filter = ("applies_to", "can_get", "group")
    search_fields = ("pattern", "description", "call_methods", "user__username", "group__name")
    autocomplete_fields = ("user", "group")
    readonly_fields = ("created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("pattern", "description")}),
        (
            _("Applies to"),
            {
                "fields": ("applies_to", "group", "user"),
                "description": _("Choose a group or a user only when the rule applies to one."),
            },
        ),
        (_("Grants"), {"fields": ("can_get", "call_methods")}),
        (_("History"), {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )

    @admin.display(description=_("applies to"), ordering="applies_to")
    def subject(self, rule: AccessRule) -> str:
        return rule.subject_display()

    def get_queryset(self, request: HttpRequest) -> QuerySet[AccessRule]:
        return super().get_queryset(request).select_related("user", "group")
