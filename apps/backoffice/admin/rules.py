"""Admin for the ordered routing rules: drag to reorder, placement of a new rule, JSON
conditions, history, and the "Test a lead" page."""

from __future__ import annotations

from typing import Any

from adminsortable2.admin import SortableAdminMixin
from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from apps.backoffice.lead_test import lead_test_view
from apps.backoffice.placement import PlacementFormMixin
from apps.backoffice.rule_builder import (
    ConditionsBuilderWidget,
    TargetPickerWidget,
    condition_error_words,
    rule_builder_options_view,
    target_error_words,
)
from apps.backoffice.rule_order import (
    drag_reorder,
    flow_view,
    move_buttons,
    move_view,
    request_order,
    request_warnings,
    warnings_html,
)
from apps.backoffice.utils import ConfigVersionAdminMixin, PrettyJSONFormField
from apps.configuration.admin_forms import ConfigAdminMixin, ConfigItemFormMixin
from apps.configuration.services import rule_save
from apps.rules.models import RoutingRule
from apps.rules.summaries import conditions_summary, target_summary

__all__ = ["RoutingRuleAdmin", "conditions_summary", "target_summary"]

SUMMARY_MAX = 110


#: the form fields that are the rule's document item (the admin adds its own to Meta.fields)
RULE_ITEM_FIELDS = [
    "name",
    "description",
    "active",
    "conditions",
    "strategy",
    "target",
    "sla_minutes",
    "respect_working_hours",
    "require_skill_from",
    "require_language",
    "when_no_one_eligible",
    "sla_business_hours",
]


class RoutingRuleAdminForm(PlacementFormMixin, ConfigItemFormMixin, forms.ModelForm):
    config_collection = "rules"
    # a bad condition or target is shown on its builder, naming the row, not atop the form
    config_inline_fields = ("conditions", "target")

    class Meta:
        model = RoutingRule
        fields = RULE_ITEM_FIELDS
        field_classes = {"conditions": PrettyJSONFormField, "target": PrettyJSONFormField}
        widgets = {
            "description": forms.Textarea(attrs={"rows": 2, "cols": 90}),
            "conditions": ConditionsBuilderWidget,
            "target": TargetPickerWidget,
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # the builders explain themselves; these say what the raw JSON looks like
        self.fields["conditions"].help_text = (
            'Raw JSON: [{"field": "company_size", "op": "gte", "value": 1000}, {"any": [...]}]; '
            "[] takes every lead."
        )
        self.fields["target"].help_text = (
            'Raw JSON: {"territory": "US-WEST"}, {"territory": "$lead"} or '
            '{"reps": [{"username": "alice", "weight": 2}]}; empty for account owner.'
        )

    def config_inline_error(self, field: str, path: str, message: str) -> str:
        value = self.cleaned_data.get(field)
        if field == "conditions":
            return condition_error_words(value, path, message)
        return target_error_words(value, path, message)

    def config_item(self, cleaned: Any) -> dict[str, Any]:
        item = {name: cleaned.get(name) for name in RULE_ITEM_FIELDS}
        item["conditions"] = item["conditions"] if item["conditions"] is not None else []
        item["require_skill_from"] = item["require_skill_from"] or None
        if self.instance.pk is not None:
            item["key"] = type(self.instance).objects.get(pk=self.instance.pk).key
        return item


@admin.register(RoutingRule)
class RoutingRuleAdmin(
    ConfigAdminMixin, ConfigVersionAdminMixin, SortableAdminMixin, SimpleHistoryAdmin
):
    form = RoutingRuleAdminForm
    config_collection = "rules"
    list_display = [
        "position",  # adminsortable2 turns this column into the drag handle
        "number",
        "name",
        "active",
        "strategy",
        "conditions_display",
        "target_display",
        "sla_display",
        "when_no_one_eligible",
    ]
    list_display_links = ["name"]
    list_filter = ["active", "strategy", "when_no_one_eligible", "respect_working_hours"]
    search_fields = ["name", "description"]
    ordering = ["position", "id"]
    list_select_related = True
    readonly_fields = ["key", "position", "conditions_preview", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["name", "key", "description", "active", "position"]}),
        (
            "When it applies",
            {
                "fields": ["conditions", "conditions_preview"],
                "description": "Every condition must hold; an “any of” group holds when one of "
                "its conditions does. No conditions: the rule takes every lead. “Raw JSON” "
                'shows the list itself: {"field", "op", "value"} or {"any": [...]}.',
            },
        ),
        ("Who gets the lead", {"fields": ["strategy", "target", "when_no_one_eligible"]}),
        (
            "Eligibility and SLA",
            {
                "fields": [
                    "sla_minutes",
                    "sla_business_hours",
                    "respect_working_hours",
                    "require_skill_from",
                    "require_language",
                ]
            },
        ),
        ("Record", {"fields": ["created_at", "updated_at"], "classes": ["collapse"]}),
    ]

    def get_urls(self) -> list[Any]:
        test = path(
            "test-lead/",
            self.admin_site.admin_view(self.test_lead_view),
            name="rules_routingrule_test_lead",
        )
        options = path(
            "builder-options/",
            self.admin_site.admin_view(self.builder_options_view),
            name="rules_routingrule_builder_options",
        )
        flow = path(
            "flow/", self.admin_site.admin_view(self.flow_view), name="rules_routingrule_flow"
        )
        move = path(
            "<path:object_id>/move/<str:to>/",
            self.admin_site.admin_view(self.move_view),
            name="rules_routingrule_move",
        )
        return [test, options, flow, move, *super().get_urls()]

    def builder_options_view(self, request: HttpRequest) -> JsonResponse:
        return rule_builder_options_view(request, model_admin=self)

    def test_lead_view(self, request: HttpRequest) -> TemplateResponse:
        return lead_test_view(request, model_admin=self)

    def flow_view(self, request: HttpRequest) -> HttpResponse:
        return flow_view(request, model_admin=self)

    def move_view(self, request: HttpRequest, object_id: str, to: str) -> HttpResponse:
        return move_view(request, object_id, to, model_admin=self)

    def get_list_display(self, request: HttpRequest) -> Any:
        columns = list(super().get_list_display(request))
        warnings = request_warnings(request)

        @admin.display(description="Warnings")
        def warnings_column(obj: RoutingRule) -> str:
            return warnings_html(warnings.get(obj.pk, [])) or "—"

        # right after the name, so a warning is seen without scrolling the list sideways
        columns.insert(
            columns.index("name") + 1 if "name" in columns else len(columns), warnings_column
        )
        if self.has_change_permission(request):

            @admin.display(description="Move")
            def moves_column(obj: RoutingRule) -> str:
                return move_buttons(obj, request_order(request))

            columns.insert(1, moves_column)
        return columns

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        if request.method == "GET" and object_id.isdigit():
            for warning in request_warnings(request).get(int(object_id), []):
                messages.warning(request, warning.text)
        response: HttpResponse = super().change_view(request, object_id, form_url, extra_context)
        return response

    def get_fieldsets(self, request: Any, obj: Any = None) -> Any:
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is None:  # a new rule says where it goes; an existing one moves by drag and drop
            name, options = fieldsets[0]
            fields = [f for f in options["fields"] if f != "position"]
            fieldsets[0] = (name, {**options, "fields": fields})
            # nothing is saved yet: the builder's live preview is the sentence
            fieldsets = [
                (name, {**opts, "fields": [f for f in opts["fields"] if f != "conditions_preview"]})
                for name, opts in fieldsets
            ]
            fieldsets.insert(1, ("Where it goes", {"fields": ["placement"]}))
        return fieldsets

    def save_model(self, request: Any, obj: RoutingRule, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        # A new rule goes through the configuration's write path, at the chosen place.
        cleaned = form.cleaned_data
        item = form.config_item(cleaned)
        rule_save(
            name=None,
            item=item,
            actor=request.user,
            position=form.placement_index(),
            based_on=cleaned.get("based_on_version"),
            force=bool(cleaned.get("save_anyway")),
        )
        obj.pk = RoutingRule.objects.get(name=item["name"]).pk
        obj.refresh_from_db()
        obj._saved_through_config = True  # type: ignore[attr-defined]

    def log_addition(self, request: Any, obj: Any, message: Any) -> Any:
        if getattr(obj, "_saved_through_config", False):
            # rule_save recorded the configuration version already
            return super(ConfigVersionAdminMixin, self).log_addition(request, obj, message)
        return super().log_addition(request, obj, message)

    def update_order(self, request: Any) -> Any:
        # Through the configuration's write path: one "reorder" version per drop, in one
        # transaction with the positions (and each moved rule's history row).
        return drag_reorder(request, model_admin=self)

    @admin.display(description="#", ordering="position")
    def number(self, obj: RoutingRule) -> int:
        return obj.position

    @admin.display(description="Conditions")
    def conditions_display(self, obj: RoutingRule) -> str:
        text = conditions_summary(obj.conditions)
        short = text if len(text) <= SUMMARY_MAX else text[: SUMMARY_MAX - 1].rstrip() + " …"
        return format_html('<span title="{}">{}</span>', text, short)

    @admin.display(description="Conditions as saved")
    def conditions_preview(self, obj: RoutingRule) -> str:
        return conditions_summary(obj.conditions) if obj.pk else "—"

    @admin.display(description="Target")
    def target_display(self, obj: RoutingRule) -> str:
        return target_summary(obj.target, obj.strategy)

    @admin.display(description="SLA", ordering="sla_minutes")
    def sla_display(self, obj: RoutingRule) -> str:
        return f"{obj.sla_minutes} min" if obj.sla_minutes is not None else "default"
