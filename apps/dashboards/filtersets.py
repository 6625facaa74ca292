"""The dashboards' one FilterSet, shared by the pages and their JSON twins; the filters live in
the URL (``?preset=30d`` or ``?start=&end=``, ``territory``, ``lead_source``, ``rep``) so a view
can be shared by link."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django_filters import rest_framework as filters

from apps.core.windows import (
    MAX_DAYS,
    PRESETS,
    DateWindow,
    preset_window,
    window_choose,
    window_problem,
)
from apps.leads.models import Lead
from apps.reps.models import Rep
from apps.territories.models import Territory

# DateWindow and preset_window live in apps.core.windows (the audit shares them); re-exported.
__all__ = [
    "DEFAULT_PRESET",
    "MAX_DAYS",
    "PRESETS",
    "DashboardFilterSet",
    "DateWindow",
    "preset_window",
]

DEFAULT_PRESET = "30d"


class DashboardFilterForm(forms.Form):
    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        problem = window_problem(data.get("start"), data.get("end"))
        if problem:
            raise forms.ValidationError(problem)
        return data


def _no_op(queryset: QuerySet[Lead], name: str, value: Any) -> QuerySet[Lead]:
    return queryset  # the date window is applied as a whole in filter_queryset


class DashboardFilterSet(filters.FilterSet):
    preset = filters.ChoiceFilter(choices=PRESETS, method=_no_op, empty_label="Custom dates")
    start = filters.DateFilter(method=_no_op, widget=forms.DateInput(attrs={"type": "date"}))
    end = filters.DateFilter(method=_no_op, widget=forms.DateInput(attrs={"type": "date"}))
    territory = filters.ModelChoiceFilter(
        queryset=Territory.objects.order_by("code"),
        to_field_name="code",
        field_name="territory",
        empty_label="All territories",
    )
    lead_source = filters.CharFilter(field_name="lead_source", lookup_expr="iexact")
    rep = filters.ModelChoiceFilter(
        queryset=Rep.objects.select_related("user").order_by("user__username"),
        field_name="owner",
        empty_label="All reps",
    )

    class Meta:
        model = Lead
        form = DashboardFilterForm
        fields = ["preset", "start", "end", "territory", "lead_source", "rep"]

    def __init__(self, data: Any = None, *args: Any, **kwargs: Any) -> None:
        # No period chosen: the default preset, shown as such in the form.
        if data is not None and not any(data.get(key) for key in ("preset", "start", "end")):
            data = data.copy()
            data["preset"] = DEFAULT_PRESET
        super().__init__(data, *args, **kwargs)

    @property
    def window(self) -> DateWindow:
        """The chosen days: a preset, else start/end (a missing end is today, a missing start
        30 days before the end), else the default preset. Call after is_valid()."""
        data = self.form.cleaned_data
        return window_choose(
            preset=data.get("preset"),
            start=data.get("start"),
            end=data.get("end"),
            today=timezone.localdate(),
            default=DEFAULT_PRESET,
        )

    @property
    def chosen_rep(self) -> Rep | None:
        rep: Rep | None = self.form.cleaned_data.get("rep")
        return rep

    def filter_queryset(self, queryset: QuerySet[Lead]) -> QuerySet[Lead]:
        low, high = self.window.bounds()
        return self.filter_others(queryset.filter(created_at__gte=low, created_at__lt=high))

    def filter_others(self, queryset: QuerySet[Lead]) -> QuerySet[Lead]:
        """Every filter but the date window (territory, lead source, rep): for figures that
        reach outside the window, as the routing-health strip's previous window. Call after
        is_valid()."""
        filtered: QuerySet[Lead] = super().filter_queryset(queryset)
        return filtered
