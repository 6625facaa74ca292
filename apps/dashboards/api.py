"""The dashboards' JSON twins (docs/API.md "Dashboards and audits"): managers only; the same
FilterSet and selectors as the pages, one view per dashboard of the registry."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api.permissions import IsManager
from apps.dashboards.filtersets import PRESETS, DashboardFilterSet
from apps.dashboards.registry import Dashboard, health_for
from apps.leads.models import Lead

__all__ = ["HealthApi", "dashboard_api"]

FILTER_PARAMETERS = [
    OpenApiParameter("preset", str, enum=[key for key, _ in PRESETS]),
    OpenApiParameter("start", OpenApiTypes.DATE),
    OpenApiParameter("end", OpenApiTypes.DATE),
    OpenApiParameter("territory", str, description="territory code"),
    OpenApiParameter("lead_source", str),
    OpenApiParameter("rep", int, description="rep id"),
]


class DashboardApi(APIView):
    permission_classes = [IsAuthenticated, IsManager]
    dashboard: Dashboard

    def get(self, request: Request) -> Response:
        return Response(self.dashboard.report_for(_filterset(request), health=False))


def _filterset(request: Request) -> DashboardFilterSet:
    filterset = DashboardFilterSet(request.query_params, queryset=Lead.objects.all())
    if not filterset.is_valid():
        raise ValidationError(filterset.errors)
    return filterset


class HealthApi(APIView):
    """The routing-health strip every dashboard page shows, on its own (docs/API.md)."""

    permission_classes = [IsAuthenticated, IsManager]

    @extend_schema(
        operation_id="dashboards_health",
        parameters=FILTER_PARAMETERS,
        responses=OpenApiTypes.OBJECT,
        description="Shape and definitions: docs/API.md, Dashboards and audits.",
    )
    def get(self, request: Request) -> Response:
        return Response(health_for(_filterset(request)))


def dashboard_api(dashboard: Dashboard) -> Any:
    """The JSON view of one dashboard, with its own operation in the OpenAPI schema."""

    # A function of its own per dashboard: extend_schema annotates the function it is given, so
    # decorating the shared DashboardApi.get would give every dashboard the last one's schema.
    @extend_schema(
        operation_id=f"dashboards_{dashboard.slug.replace('-', '_')}",
        parameters=FILTER_PARAMETERS,
        responses=OpenApiTypes.OBJECT,
        description="Shape and definitions: docs/API.md, Dashboards and audits.",
    )
    def get(self: DashboardApi, request: Request) -> Response:
        return DashboardApi.get(self, request)

    view = type(
        f"{dashboard.slug.title().replace('-', '')}Api",
        (DashboardApi,),
        {"dashboard": dashboard, "get": get, "__doc__": f"{dashboard.title} (docs/API.md)."},
    )
    return view.as_view()
