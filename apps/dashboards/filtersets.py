"""The dashboards' one FilterSet, shared by the pages and their JSON twins; the filters live in
the URL (``?preset=30d`` or ``?start=&end=``, ``territory``, ``lead_source``, ``rep``) so a view
can be shared by link."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django_filters import rest_framework as filters

from apps.leads.models import Lead
from apps.reps.models import Rep
from apps.territories.models import Territory

__all__ = ["DEFAULT_PRESET", "MAX_DAYS", "DashboardFilterSet", "DateWindow", "preset_window"]

PRESETS = [
    ("7d", "Last 7 days"),
    ("30d", "Last 30 days"),
    ("90d", "Last 90 days"),
    ("this_quarter", "This quarter"),
    ("last_quarter", "Last quarter"),
]
DEFAULT_PRESET = "30d"
#: A longer window would make the daily trend unreadable and the page slow.
MAX_DAYS = 366


@dataclass(frozen=True)
class DateWindow:
    """Whole days, both ends included, in the viewer's time zone."""

    start: date
    end: date

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]

    def bounds(self) -> tuple[datetime, datetime]:
        """From midnight on the first day to midnight after the last, in the current zone."""
        zone = timezone.get_current_timezone()
        return (
            datetime.combine(self.start, time.min, tzinfo=zone),
            datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=zone),
        )


def _quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def preset_window(preset: str, *, today: date) -> DateWindow:
    """The window a preset names, ending today (the quarters: calendar quarters)."""
    if preset.endswith("d"):
        return DateWindow(start=today - timedelta(days=int(preset[:-1]) - 1), end=today)
    this_quarter = _quarter_start(today)
    if preset == "this_quarter":
        return DateWindow(start=this_quarter, end=today)
    last_quarter = _quarter_start(this_quarter - timedelta(days=1))
    return DateWindow(start=last_quarter, end=this_quarter - timedelta(days=1))


class DashboardFilterForm(forms.Form):
    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            raise forms.ValidationError("The start date must not be after the end date.")
        if start and end and (end - start).days >= MAX_DAYS:
            raise forms.ValidationError(f"Choose a window of at most {MAX_DAYS} days.")
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
        today = timezone.localdate()
        if data.get("preset"):
            return preset_window(data["preset"], today=today)
        start, end = data.get("start"), data.get("end")
        if not start and not end:
            return preset_window(DEFAULT_PRESET, today=today)
        end = end or max(today, start)
        start = start or end - timedelta(days=29)
        return DateWindow(start=start, end=end)

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
