"""Filters for the rep and time-off lists."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from apps.core.filters import UtcIsoDateTimeFilter
from apps.reps.models import Rep, TimeOff

__all__ = ["RepFilterSet", "TimeOffFilterSet"]


class RepFilterSet(django_filters.FilterSet):
    active = django_filters.BooleanFilter()
    away = django_filters.BooleanFilter()
    territory = django_filters.CharFilter(field_name="territories__code", distinct=True)
    search = django_filters.CharFilter(method="filter_search")

    class Meta:
        model = Rep
        fields = ["active", "away", "territory", "search"]

    def filter_search(self, queryset: QuerySet[Rep], name: str, value: str) -> QuerySet[Rep]:
        return queryset.filter(
            Q(user__username__icontains=value)
            | Q(user__first_name__icontains=value)
            | Q(user__last_name__icontains=value)
            | Q(user__email__icontains=value)
        )


class TimeOffFilterSet(django_filters.FilterSet):
    rep = django_filters.CharFilter(field_name="rep__user__username")
    ends_after = UtcIsoDateTimeFilter(field_name="ends_at", lookup_expr="gt")
    starts_before = UtcIsoDateTimeFilter(field_name="starts_at", lookup_expr="lt")

    class Meta:
        model = TimeOff
        fields = ["rep", "ends_after", "starts_before"]
