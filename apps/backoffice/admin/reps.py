"""Admin for reps, their working hours and their time off."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from apps.backoffice.utils import (
    EMPTY,
    CommaSeparatedListField,
    ConfigVersionAdminMixin,
    WeekdaysField,
    compact_list,
    weekdays_label,
)
from apps.configuration.admin_forms import ConfigAdminMixin, ConfigItemFormMixin
from apps.configuration.export import routing_config_export
from apps.core.validators import time_zone_choices, validate_language_code
from apps.reps.models import Rep, TimeOff, TimeOffSource, WorkingHours


class RepAdminForm(ConfigItemFormMixin, forms.ModelForm):
    """Time zone from the IANA list; skills and languages typed as comma-separated text."""

    config_collection = "reps"

    time_zone = forms.ChoiceField(
        choices=time_zone_choices,
        initial="UTC",
        help_text="Working hours and daily caps are counted in this zone.",
    )
    skills = CommaSeparatedListField(
        normalise=str.lower,
        help_text="Comma-separated, e.g. healthcare, fintech. Rules can require one of them.",
    )
    languages = CommaSeparatedListField(
        normalise=str.lower,
        item_validator=validate_language_code,
        help_text="ISO 639-1 codes, comma-separated, e.g. en, es.",
    )

    class Meta:
        model = Rep
        fields = [
            "user",
            "time_zone",
            "active",
            "away",
            "territories",
            "weight",
            "max_open_leads",
            "max_daily_leads",
            "skills",
            "languages",
        ]

    def config_key(self) -> str | None:
        if self.instance.pk is None:
            return None
        return Rep.objects.select_related("user").get(pk=self.instance.pk).user.username

    def config_item(self, cleaned: Any) -> dict[str, Any]:
        user = cleaned["user"]
        old_key = self.config_key()
        current = next(
            (r for r in routing_config_export()["reps"] if r["username"] == old_key), None
        )
        return {
            "username": user.username,
            "name": user.get_full_name() or user.username,
            "email": user.email,
            "time_zone": cleaned["time_zone"],
            "active": cleaned.get("active", True),
            "territories": sorted(t.code for t in cleaned.get("territories") or []),
            "weight": cleaned["weight"],
            "max_open_leads": cleaned.get("max_open_leads"),
            "max_daily_leads": cleaned.get("max_daily_leads"),
            "skills": sorted(cleaned.get("skills") or []),
            "languages": sorted(cleaned.get("languages") or []),
            # Inline rows are checked by their own forms; keep the saved ones here.
            "working_hours": current["working_hours"] if current else [],
            "time_off": current["time_off"] if current else [],
        }


class WorkingHoursForm(forms.ModelForm):
    weekdays = WeekdaysField(help_text="Days this window applies to.")

    class Meta:
        model = WorkingHours
        fields = ["rep", "weekdays", "start", "end"]


class WorkingHoursInline(admin.TabularInline):
    model = WorkingHours
    form = WorkingHoursForm
    fields = ["weekdays", "start", "end"]
    extra = 0
    verbose_name = "working hours window"
    verbose_name_plural = "working hours (in the rep's time zone; none = works any time)"


class TimeOffInline(admin.TabularInline):
    model = TimeOff
    fields = ["starts_at", "ends_at", "reason", "note", "source"]
    readonly_fields = ["source"]
    extra = 0
    ordering = ["-starts_at"]
    verbose_name_plural = "time off (times in your own time zone)"


@admin.register(Rep)
class RepAdmin(ConfigAdminMixin, ConfigVersionAdminMixin, SimpleHistoryAdmin):
    form = RepAdminForm
    config_collection = "reps"
    list_display = [
        "username",
        "full_name",
        "email",
        "time_zone",
        "active",
        "away",
        "territory_list",
        "weight",
        "capacity",
        "skills_display",
        "languages_display",
        "open_leads",
    ]
    list_display_links = ["username", "full_name"]
    list_filter = ["active", "away", "territories", "time_zone"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "user__email"]
    ordering = ["user__username"]
    list_select_related = ["user"]
    autocomplete_fields = ["user"]
    filter_horizontal = ["territories"]
    inlines = [WorkingHoursInline, TimeOffInline]
    actions = ["mark_away", "mark_back", "activate", "deactivate"]
    readonly_fields = [
        "full_name",
        "email",
        "open_leads_count",
        "assigned_today",
        "assigned_today_date",
        "last_assigned_at",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": ["user", "full_name", "email", "time_zone"]}),
        ("Availability", {"fields": ["active", "away"]}),
        ("Territories", {"fields": ["territories"]}),
        (
            "Capacity and share",
            {"fields": ["weight", "max_open_leads", "max_daily_leads"]},
        ),
        ("Skills and languages", {"fields": ["skills", "languages"]}),
        (
            "Load (kept by routing)",
            {
                "fields": [
                    "open_leads_count",
                    "assigned_today",
                    "assigned_today_date",
                    "last_assigned_at",
                    "created_at",
                    "updated_at",
                ],
                "classes": ["collapse"],
            },
        ),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Rep]:
        return super().get_queryset(request).prefetch_related("territories")

    def config_key_of(self, obj: Rep) -> str:
        return obj.user.username

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is TimeOff:
            for inline in formset.forms:
                if inline.instance.pk is None:
                    inline.instance.source = TimeOffSource.ADMIN  # kept by documents
        super().save_formset(request, form, formset, change)

    @admin.display(description="Username", ordering="user__username")
    def username(self, obj: Rep) -> str:
        return obj.user.username

    @admin.display(description="Name", ordering="user__last_name")
    def full_name(self, obj: Rep) -> str:
        if obj.user_id is None:
            return EMPTY
        return obj.user.get_full_name() or EMPTY

    @admin.display(description="Email", ordering="user__email")
    def email(self, obj: Rep) -> str:
        if obj.user_id is None or not obj.user.email:
            return EMPTY
        return format_html('<a href="mailto:{0}">{0}</a>', obj.user.email)

    @admin.display(description="Territories")
    def territory_list(self, obj: Rep) -> str:
        return compact_list(t.code for t in obj.territories.all())

    @admin.display(description="Capacity (open / per day)", ordering="max_open_leads")
    def capacity(self, obj: Rep) -> str:
        def cap(value: int | None) -> str:
            return "∞" if value is None else str(value)

        return f"{cap(obj.max_open_leads)} / {cap(obj.max_daily_leads)}"

    @admin.display(description="Skills")
    def skills_display(self, obj: Rep) -> str:
        return compact_list(obj.skills, limit=4)

    @admin.display(description="Languages")
    def languages_display(self, obj: Rep) -> str:
        return compact_list(obj.languages)

    @admin.display(description="Open leads", ordering="open_leads_count")
    def open_leads(self, obj: Rep) -> Any:
        # The routing services keep this counter in step with every assignment and close.
        count = obj.open_leads_count
        if not count:
            return 0
        url = reverse("admin:leads_lead_changelist")
        return format_html(
            '<a href="{}?owner__id__exact={}&status__in=assigned,contacted">{}</a>',
            url,
            obj.pk,
            count,
        )

    def _set_flag(
        self, request: HttpRequest, queryset: QuerySet[Rep], field: str, value: bool, verb: str
    ) -> None:
        # Saved one by one (not queryset.update) so simple-history records who changed what.
        changed = 0
        with transaction.atomic():
            for rep in queryset.select_related("user").select_for_update():
                if getattr(rep, field) != value:
                    setattr(rep, field, value)
                    rep.save(update_fields=[field, "updated_at"])
                    changed += 1
            if changed:
                self._config_version(request, f"{changed} rep(s) {verb}")
        messages.success(
            request, f"{changed} rep(s) {verb}; {queryset.count() - changed} already were."
        )

    @admin.action(description="Mark selected reps away", permissions=["change"])
    def mark_away(self, request: HttpRequest, queryset: QuerySet[Rep]) -> None:
        self._set_flag(request, queryset, "away", True, "marked away")

    @admin.action(description="Mark selected reps back (not away)", permissions=["change"])
    def mark_back(self, request: HttpRequest, queryset: QuerySet[Rep]) -> None:
        self._set_flag(request, queryset, "away", False, "marked back")

    @admin.action(description="Activate selected reps", permissions=["change"])
    def activate(self, request: HttpRequest, queryset: QuerySet[Rep]) -> None:
        self._set_flag(request, queryset, "active", True, "activated")

    @admin.action(
        description="Deactivate selected reps (they get no new leads)", permissions=["change"]
    )
    def deactivate(self, request: HttpRequest, queryset: QuerySet[Rep]) -> None:
        self._set_flag(request, queryset, "active", False, "deactivated")


@admin.register(WorkingHours)
class WorkingHoursAdmin(ConfigVersionAdminMixin, SimpleHistoryAdmin):
    form = WorkingHoursForm
    list_display = ["rep", "days", "start", "end", "rep_time_zone"]
    list_filter = [("rep", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["rep__user__username", "rep__user__first_name", "rep__user__last_name"]
    ordering = ["rep__user__username", "start"]
    list_select_related = ["rep__user"]
    autocomplete_fields = ["rep"]

    @admin.display(description="Days")
    def days(self, obj: WorkingHours) -> str:
        return weekdays_label(obj.weekdays)

    @admin.display(description="Time zone", ordering="rep__time_zone")
    def rep_time_zone(self, obj: WorkingHours) -> str:
        return obj.rep.time_zone


@admin.register(TimeOff)
class TimeOffAdmin(ConfigVersionAdminMixin, SimpleHistoryAdmin):
    list_display = ["rep", "starts_at", "ends_at", "reason"]
    list_filter = [("rep", admin.RelatedOnlyFieldListFilter), "reason", "starts_at"]
    search_fields = [
        "rep__user__username",
        "rep__user__first_name",
        "rep__user__last_name",
    ]
    ordering = ["-starts_at"]
    list_select_related = ["rep__user"]
    autocomplete_fields = ["rep"]
    date_hierarchy = "starts_at"
    fields = ["rep", "starts_at", "ends_at", "reason", "note", "source"]
    readonly_fields = ["source"]

    def save_model(self, request: HttpRequest, obj: TimeOff, form: Any, change: bool) -> None:
        if not change:
            obj.source = TimeOffSource.ADMIN  # kept by documents that do not list it
        super().save_model(request, obj, form, change)
