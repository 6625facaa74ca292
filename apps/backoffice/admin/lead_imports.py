"""Admin for lead imports (the runs, read-only, each linking to its report page) and the saved
column mappings."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from apps.backoffice.utils import PrettyJSONFormField, ReadOnlyAdminMixin, pretty_json
from apps.leads.models import LeadImport, LeadImportMapping
from apps.routing.import_columns import MappingError, target_check


@admin.register(LeadImport)
class LeadImportAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "file_name",
        "created_by",
        "created_at",
        "status",
        "rows",
        "imported",
        "duplicates",
        "rejected",
        "report_link",
    ]
    list_filter = ["status", "created_at"]
    search_fields = ["file_name", "created_by__username"]
    list_select_related = ["created_by"]
    ordering = ["-created_at", "-id"]
    fields = [
        "file_name",
        "status",
        "created_by",
        "created_at",
        "started_at",
        "finished_at",
        "source",
        "route",
        "extra_unknown",
        "encoding",
        "delimiter",
        "rows",
        "imported",
        "duplicates",
        "rejected",
        "routed",
        "error",
        "columns_pretty",
        "report_link",
    ]
    readonly_fields = fields

    @admin.display(description="Report")
    def report_link(self, obj: LeadImport) -> str:
        url = reverse("admin:leads_lead_import_run", args=[obj.pk])
        return format_html('<a href="{}">Open</a>', url)

    @admin.display(description="Column mapping")
    def columns_pretty(self, obj: LeadImport) -> str:
        return pretty_json(obj.columns)


class LeadImportMappingForm(forms.ModelForm):
    class Meta:
        model = LeadImportMapping
        fields = ["name", "columns"]
        field_classes = {"columns": PrettyJSONFormField}

    def clean_columns(self) -> dict[str, str]:
        columns = self.cleaned_data["columns"]
        if not isinstance(columns, dict) or not all(
            isinstance(key, str) and isinstance(value, str) for key, value in columns.items()
        ):
            raise forms.ValidationError('Write {"CSV column": "lead field", ...}.')
        try:
            for target in columns.values():
                target_check(target)
        except MappingError as exc:
            raise forms.ValidationError(str(exc)) from exc
        return columns


@admin.register(LeadImportMapping)
class LeadImportMappingAdmin(admin.ModelAdmin):
    form = LeadImportMappingForm
    list_display = ["name", "columns_count", "created_by", "updated_at"]
    search_fields = ["name"]
    list_select_related = ["created_by"]
    readonly_fields = ["created_by", "created_at", "updated_at"]
    fields = ["name", "columns", "created_by", "created_at", "updated_at"]

    @admin.display(description="Columns")
    def columns_count(self, obj: LeadImportMapping) -> int:
        return len(obj.columns or {})

    def save_model(
        self, request: HttpRequest, obj: LeadImportMapping, form: Any, change: bool
    ) -> None:
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
