"""Filters for the configuration version list."""

from __future__ import annotations

import django_filters

from apps.configuration.models import RoutingConfigVersion
from apps.core.filters import UtcIsoDateTimeFilter

__all__ = ["RoutingConfigVersionFilterSet"]


class RoutingConfigVersionFilterSet(django_filters.FilterSet):
    source = django_filters.ChoiceFilter(choices=RoutingConfigVersion.Source.choices)
    author = django_filters.CharFilter(field_name="author__username")
    created_after = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = RoutingConfigVersion
        fields = ["source", "author", "created_after", "created_before"]
