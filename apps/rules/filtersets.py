"""Filters for the rule list."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from apps.rules.models import NoOneEligible, RoutingRule, Strategy

__all__ = ["RoutingRuleFilterSet"]


class RoutingRuleFilterSet(django_filters.FilterSet):
    active = django_filters.BooleanFilter()
    strategy = django_filters.ChoiceFilter(choices=Strategy.choices)
    when_no_one_eligible = django_filters.ChoiceFilter(choices=NoOneEligible.choices)
    search = django_filters.CharFilter(method="filter_search")

    class Meta:
        model = RoutingRule
        fields = ["active", "strategy", "when_no_one_eligible", "search"]

    def filter_search(
        self, queryset: QuerySet[RoutingRule], name: str, value: str
    ) -> QuerySet[RoutingRule]:
        return queryset.filter(Q(name__icontains=value) | Q(description__icontains=value))
