"""Filters for the account list."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from apps.accounts.models import Account

__all__ = ["AccountFilterSet"]


class AccountFilterSet(django_filters.FilterSet):
    owner = django_filters.CharFilter(field_name="owner__user__username")
    has_owner = django_filters.BooleanFilter(field_name="owner", lookup_expr="isnull", exclude=True)
    search = django_filters.CharFilter(method="filter_search")

    class Meta:
        model = Account
        fields = ["owner", "has_owner", "search"]

    def filter_search(
        self, queryset: QuerySet[Account], name: str, value: str
    ) -> QuerySet[Account]:
        return queryset.filter(Q(domain__icontains=value) | Q(name__icontains=value))
