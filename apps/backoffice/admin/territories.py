"""Admin for the territory tree."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from apps.backoffice.utils import (
    CommaSeparatedListField,
    ConfigVersionAdminMixin,
    compact_list,
    short_dt,
)
from apps.configuration.admin_forms import (
    ConfigAdminMixin,
    ConfigItemFormMixin,
    territory_references_rename,
    territory_renamed_in_rule,
)
from apps.configuration.territory_impact import territory_defs, territory_impact
from apps.territories.models import Territory


def _upper(value: str) -> str:
    return value.upper()


class TerritoryAdminForm(ConfigItemFormMixin, forms.ModelForm):
    """Countries, regions and postal prefixes typed as comma-separated codes.

    Renaming a code renames it in the rules that name it too (in the same version).
    """

    config_collection = "territories"

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

    def config_item(self, cleaned: Any) -> dict[str, Any]:
        parent = cleaned.get("parent")
        return {
            "code": cleaned["code"],
            "name": cleaned["name"],
            "parent": parent.code if parent is not None else None,
            "countries": list(cleaned.get("countries") or []),
            "regions": list(cleaned.get("regions") or []),
            "postal_prefixes": list(cleaned.get("postal_prefixes") or []),
        }

    def config_document(self, item: dict[str, Any], old_key: str | None) -> dict[str, Any]:
        document = super().config_document(item, old_key)
        new = item["code"]
        if old_key is None or old_key == new:
            return document
        # Reps and children follow the row (by id); rules name the code and are renamed too.
        for territory in document["territories"]:
            if territory["parent"] == old_key:
                territory["parent"] = new
        for rep in document["reps"]:
            rep["territories"] = [new if c == old_key else c for c in rep["territories"]]
        document["rules"] = [territory_renamed_in_rule(r, old_key, new) for r in document["rules"]]
        return document


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
class TerritoryAdmin(ConfigAdminMixin, ConfigVersionAdminMixin, SimpleHistoryAdmin):
    form = TerritoryAdminForm
    config_collection = "territories"
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

    def save_model(self, request: HttpRequest, obj: Territory, form: Any, change: bool) -> None:
        old = Territory.objects.get(pk=obj.pk).code if change else None
        before = territory_defs()
        super().save_model(request, obj, form, change)
        if old is not None and old != obj.code:
            renamed = territory_references_rename(old=old, new=obj.code, actor=request.user)
            if renamed:
                self.message_user(
                    request, f"Rules now naming {obj.code} instead of {old}: {', '.join(renamed)}."
                )
        # Overlaps, missing reps and the leads that now match elsewhere: warned, not refused.
        impact = territory_impact(code=obj.code, before=before, renamed_from=old)
        for text in impact.messages():
            self.message_user(request, text, messages.WARNING)

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
