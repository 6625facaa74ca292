"""The dashboards' JSON twins (docs/API.md "Dashboards and audits"): managers only; the same
FilterSet and selector as the pages."""

from __future__ import annotations

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

    def get(self, request: Request) -> Response:
        filterset = DashboardFilterSet(request.query_params, queryset=Lead.objects.all())
        if not filterset.is_valid():
            raise ValidationError(filterset.errors)
        return Response(
            response_time_report(
                leads=filterset.qs, window=filterset.window, rep=filterset.chosen_rep
            )
        )
