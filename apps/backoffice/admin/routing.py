"""Read-only admin for routing records: assignments, configuration versions, rotation state."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.backoffice.utils import ReadOnlyAdminMixin, all_field_names, pretty_json
from apps.configuration.models import RoutingConfigVersion
from apps.routing.models import Assignment, RotationState


class CurrentFilter(admin.SimpleListFilter):
    title = "current"
    parameter_name = "current"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Current owner"), ("no", "Ended")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Assignment]) -> QuerySet:
        if self.value() == "yes":
            return queryset.filter(ended_at__isnull=True)
        if self.value() == "no":
            return queryset.filter(ended_at__isnull=False)
        return queryset


@admin.register(Assignment)
class AssignmentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Immutable audit record: viewable, never added, edited or deleted here."""

    list_display = [
        "id",
        "lead",
        "rep",
        "rule_name",
        "kind",
        "strategy",
        "assigned_at",
        "ended_at",
        "actor",
    ]
    list_display_links = ["id", "lead"]
    list_filter = ["kind", CurrentFilter, "strategy", "assigned_at"]
    search_fields = ["lead__email", "rep__user__username", "rule_name", "reason"]
    ordering = ["-assigned_at", "-id"]
    list_select_related = ["lead", "rep__user", "actor"]
    date_hierarchy = "assigned_at"
    show_full_result_count = False
    fields = [
        "lead",
        "rep",
        "rule",
        "rule_name",
        "config_version",
        "strategy",
        "kind",
        "reason",
        "actor",
        "assigned_at",
        "ended_at",
        "trace_pretty",
    ]
    readonly_fields = [*all_field_names(Assignment), "trace_pretty"]

    @admin.display(description="Trace")
    def trace_pretty(self, obj: Assignment) -> str:
        return pretty_json(obj.trace)


@admin.register(RoutingConfigVersion)
class RoutingConfigVersionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Immutable snapshot of the whole routing configuration."""

    list_display = ["number", "created_at", "source", "author", "summary"]
    list_display_links = ["number", "created_at"]
    list_filter = ["source", "created_at"]
    search_fields = ["summary", "note", "author__username"]
    ordering = ["-number"]
    list_select_related = ["author"]
    date_hierarchy = "created_at"
    fields = ["number", "created_at", "source", "author", "summary", "note", "document_pretty"]
    readonly_fields = [*all_field_names(RoutingConfigVersion), "document_pretty"]

    @admin.display(description="Document")
    def document_pretty(self, obj: RoutingConfigVersion) -> str:
        return pretty_json(obj.document)


@admin.register(RotationState)
class RotationStateAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Rotation cursors are routing's own: look, do not touch."""

    list_display = ["rule", "assignments", "updated_at"]
    search_fields = ["rule__name"]
    ordering = ["rule__position", "rule__id"]
    list_select_related = ["rule"]
    fields = ["rule", "assignments", "updated_at", "data_pretty"]
    readonly_fields = [*all_field_names(RotationState), "data_pretty"]

    @admin.display(description="Rotation data")
    def data_pretty(self, obj: RotationState) -> str:
        return pretty_json(obj.data)
