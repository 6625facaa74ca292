"""The backtest request: a draft configuration document and a past window."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from apps.routing.backtest import BACKTEST_MAX_DAYS


class BacktestRequestSerializer(serializers.Serializer):
    """``document``: a configuration document (as ``GET /api/routing/config/`` returns it);
    ``start``/``end``: the window's first and last day (UTC, inclusive)."""

    document = serializers.JSONField()
    start = serializers.DateField()
    end = serializers.DateField()
    sample = serializers.IntegerField(min_value=0, max_value=100, required=False, default=20)

    def validate_document(self, value: Any) -> Any:
        if not isinstance(value, dict):
            raise serializers.ValidationError("must be a configuration document (a JSON object)")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = attrs["start"], attrs["end"]
        if end < start:
            raise serializers.ValidationError({"end": ["must be on or after start"]})
        days = (end - start).days + 1
        if days > BACKTEST_MAX_DAYS:
            raise serializers.ValidationError(
                {
                    "end": [
                        f"the window is {days} days; at most {BACKTEST_MAX_DAYS} here "
                        "(use the backtest_routing command for longer ones)"
                    ]
                }
            )
        return attrs
