"""Filters for the territory list."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from apps.territories.models import Territory

__all__ = ["TerritoryFilterSet"]


class TerritoryFilterSet(django_filters.FilterSet):
    parent = django_filters.CharFilter(field_name="parent__code")
    root = django_filters.BooleanFilter(field_name="parent", lookup_expr="isnull")
    search = django_filters.CharFilter(method="filter_search")

    class Meta:
        model = Territory
        fields = ["parent", "root", "search"]

    def filter_search(
        self, queryset: QuerySet[Territory], name: str, value: str
    ) -> QuerySet[Territory]:
        return queryset.filter(Q(code__icontains=value) | Q(name__icontains=value))
