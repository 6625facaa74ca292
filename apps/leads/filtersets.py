"""One FilterSet for the lead list, shared by the API and the pages."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django_filters import rest_framework as filters

from apps.core.filters import UtcIsoDateTimeFilter
from apps.leads.models import Lead, LeadStatus


class LeadFilterSet(filters.FilterSet):
    status = filters.MultipleChoiceFilter(choices=LeadStatus.choices)
    owner = filters.CharFilter(field_name="owner__user__username")
    territory = filters.CharFilter(field_name="territory__code")
    rule = filters.CharFilter(field_name="rule__name")
    lead_source = filters.CharFilter(field_name="lead_source", lookup_expr="iexact")
    country = filters.CharFilter(field_name="country", lookup_expr="iexact")
    external_id = filters.CharFilter(field_name="external_id")
    created_after = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="lte")
    # A choice, not a BooleanFilter: "escalated=maybe" is a 400 instead of silently ignored.
    escalated = filters.ChoiceFilter(
        choices=[(v, v) for v in ("true", "false", "1", "0")], method="filter_escalated"
    )
    search = filters.CharFilter(method="filter_search")

    class Meta:
        model = Lead
        fields = ["status", "owner", "territory", "rule", "lead_source", "country", "external_id"]

    def filter_escalated(self, queryset: QuerySet[Lead], name: str, value: str) -> QuerySet[Lead]:
        return queryset.filter(escalated_at__isnull=value in ("false", "0"))

    def filter_search(self, queryset: QuerySet[Lead], name: str, value: str) -> QuerySet[Lead]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(email__icontains=value)
            | Q(first_name__icontains=value)
            | Q(last_name__icontains=value)
            | Q(company__icontains=value)
        )
