"""Backtest a draft routing configuration over a past window (managers; writes nothing)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.api.backtest.serializers import BacktestRequestSerializer
from apps.configuration.items import ConfigValidationError
from apps.core.api.permissions import IsManager
from apps.routing.backtest import routing_backtest
from apps.routing.backtest_report import backtest_report

__all__ = ["RoutingBacktestApi"]


class RoutingBacktestApi(APIView):
    """Replay the window's leads through the draft with the routing engine; synchronous, so the
    window is capped (BACKTEST_MAX_DAYS)."""

    permission_classes = [IsAuthenticated, IsManager]

    @extend_schema(
        request=BacktestRequestSerializer,
        responses={
            200: OpenApiResponse(description='The report (API.md "Backtest").'),
            400: OpenApiResponse(
                description="The field at fault: document errors by path under `document`, "
                "or `start`/`end`."
            ),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = BacktestRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            run = routing_backtest(
                document=data["document"],
                start=data["start"],
                end=data["end"],
                sample_size=data["sample"],
            )
        except ConfigValidationError as exc:
            raise serializers.ValidationError({"document": exc.detail}) from exc
        return Response(backtest_report(run))
