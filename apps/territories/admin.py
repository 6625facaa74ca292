"""Admin for the territory tree."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from apps.core.admin_utils import (
    CommaSeparatedListField,
    ConfigVersionAdminMixin,
    compact_list,
    short_dt,
)

from .models import Territory


def _upper(value: str) -> str:
    return value.upper()


class TerritoryAdminForm(forms.ModelForm):
    """Countries, regions and postal prefixes typed as comma-separated codes."""

    countries = CommaSeparatedListField(
        normalise=_upper, help_text="ISO 3166-1 alpha-2 codes, comma-separated: US, CA"
    )
    regions = CommaSeparatedListField(
        normalise=_upper, help_text="ISO 3166-2 codes, comma-separated: US-CA, US-WA"
    )
    postal_prefixes = CommaSeparatedListField(
        normalise=_upper,
        label="Postal prefixes",
        help_text="Postal code prefixes, comma-separated: 94, 95, SW1",
    )

    class Meta:
        model = Territory
        fields = ["code", "name", "parent", "countries", "regions", "postal_prefixes"]


class ChildTerritoryInline(admin.TabularInline):
    model = Territory
    fk_name = "parent"
    fields = ["code", "name"]
    readonly_fields = ["code", "name"]
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True
    verbose_name = "child territory"
    verbose_name_plural = "child territories"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Territory)
class TerritoryAdmin(ConfigVersionAdminMixin, SimpleHistoryAdmin):
    form = TerritoryAdminForm
    list_display = [
        "code",
        "name",
        "parent",
        "countries_display",
        "regions_display",
        "postal_prefixes_display",
        "rep_count",
        "updated",
    ]
    list_display_links = ["code", "name"]
    list_filter = [("parent", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["code", "name", "parent__code"]
    ordering = ["code"]
    list_select_related = ["parent"]
    autocomplete_fields = ["parent"]
    inlines = [ChildTerritoryInline]
    readonly_fields = ["created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["code", "name", "parent"]}),
        (
            "What it covers",
            {
                "fields": ["countries", "regions", "postal_prefixes"],
                "description": "A lead goes to the most specific match: the longest postal "
                "prefix, then a region, then a country.",
            },
        ),
        ("Record", {"fields": ["created_at", "updated_at"], "classes": ["collapse"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Territory]:
        return super().get_queryset(request).annotate(_rep_count=Count("reps", distinct=True))

    @admin.display(description="Countries")
    def countries_display(self, obj: Territory) -> str:
        return compact_list(obj.countries)

    @admin.display(description="Regions")
    def regions_display(self, obj: Territory) -> str:
        return compact_list(obj.regions)

    @admin.display(description="Postal prefixes")
    def postal_prefixes_display(self, obj: Territory) -> str:
        return compact_list(obj.postal_prefixes)

    @admin.display(description="Reps", ordering="_rep_count")
    def rep_count(self, obj: Territory) -> int:
        return getattr(obj, "_rep_count", 0)

    @admin.display(description="Updated", ordering="updated_at")
    def updated(self, obj: Territory) -> str:
        return short_dt(obj.updated_at)
