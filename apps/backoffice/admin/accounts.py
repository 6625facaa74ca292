"""Admin for named accounts (email domain -> owning rep)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from apps.accounts.models import Account
from apps.backoffice.utils import ConfigVersionAdminMixin
from apps.configuration.admin_forms import ConfigAdminMixin, ConfigItemFormMixin


class HasOwnerFilter(admin.SimpleListFilter):
    title = "owner assigned"
    parameter_name = "has_owner"

    def lookups(self, request, model_admin):
        return [("yes", "Has an owner"), ("no", "No owner")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(owner__isnull=False)
        if self.value() == "no":
            return queryset.filter(owner__isnull=True)
        return queryset


class AccountAdminForm(ConfigItemFormMixin, forms.ModelForm):
    config_collection = "accounts"

    class Meta:
        model = Account
        fields = ["domain", "name", "owner"]

    def config_item(self, cleaned: Any) -> dict[str, Any]:
        owner = cleaned.get("owner")
        return {
            "domain": cleaned["domain"],
            "name": cleaned["name"],
            "owner": owner.user.username if owner is not None else None,
        }


@admin.register(Account)
class AccountAdmin(ConfigAdminMixin, ConfigVersionAdminMixin, SimpleHistoryAdmin):
    form = AccountAdminForm
    config_collection = "accounts"
    list_display = ["domain", "name", "owner", "updated_at"]
    list_display_links = ["domain", "name"]
    list_filter = [HasOwnerFilter, ("owner", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["domain", "name", "owner__user__username"]
    ordering = ["domain"]
    list_select_related = ["owner__user"]
    autocomplete_fields = ["owner"]
    fields = ["domain", "name", "owner", "created_at", "updated_at"]
    readonly_fields = ["created_at", "updated_at"]
