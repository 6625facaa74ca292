"""The dashboards' JSON twins (docs/API.md "Dashboards and audits"): managers only; the same
FilterSet and selector as the pages."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api.permissions import IsManager
from apps.dashboards.filtersets import DashboardFilterSet
from apps.dashboards.selectors import response_time_report
from apps.leads.models import Lead

__all__ = ["ResponseTimeApi"]


class ResponseTimeApi(APIView):
    """Speed to lead: overall, per rep, histogram and daily trend over the filtered window."""

    permission_classes = [IsAuthenticated, IsManager]

    @extend_schema(
        operation_id="dashboards_response_time",
        parameters=[
            OpenApiParameter(
                "preset", str, enum=["7d", "30d", "90d", "this_quarter", "last_quarter"]
            ),
            OpenApiParameter("start", OpenApiTypes.DATE),
            OpenApiParameter("end", OpenApiTypes.DATE),
            OpenApiParameter("territory", str, description="territory code"),
            OpenApiParameter("lead_source", str),
            OpenApiParameter("rep", int, description="rep id"),
        ],
        responses=OpenApiTypes.OBJECT,
        description="Shape and definitions: docs/API.md, Dashboards and audits.",
    )
    def get(self, request: Request) -> Response:
        filterset = DashboardFilterSet(request.query_params, queryset=Lead.objects.all())
        if not filterset.is_valid():
            raise ValidationError(filterset.errors)
        return Response(
            response_time_report(
                leads=filterset.qs, window=filterset.window, rep=filterset.chosen_rep
            )
        )
