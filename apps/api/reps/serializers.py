from __future__ import annotations

from typing import Any

from rest_framework import serializers

from apps.configuration.export import datetime_text, rep_item
from apps.configuration.items import RepItemSerializer, StrictSerializer, time_off_reason_field
from apps.core.api.validators import validate_plausible_moment
from apps.reps.models import TIME_OFF_NOTE_MAX, Rep, TimeOff

__all__ = ["RepSerializer", "TimeOffSerializer"]


class RepSerializer(RepItemSerializer):
    """A rep in the configuration document's shape, plus `away` (set by the rep)."""

    away = serializers.BooleanField(required=False)

    def to_representation(self, instance: Any) -> dict[str, Any]:
        if isinstance(instance, Rep):
            return {**rep_item(instance), "away": instance.away}
        return super().to_representation(instance)


class TimeOffSerializer(StrictSerializer):
    """`{"id", "rep", "starts_at", "ends_at", "reason", "note"}`; `rep` defaults to the caller.

    `reason` is a code; `note` is free text for managers and the rep themself (the list is
    already limited to them: a rep reads only their own time off)."""

    id = serializers.IntegerField(read_only=True)
    rep = serializers.CharField(max_length=150, required=False)
    starts_at = serializers.DateTimeField(validators=[validate_plausible_moment])
    ends_at = serializers.DateTimeField(validators=[validate_plausible_moment])
    reason = time_off_reason_field()
    note = serializers.CharField(
        max_length=TIME_OFF_NOTE_MAX, allow_blank=True, required=False, default=""
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["ends_at"] <= attrs["starts_at"]:
            raise serializers.ValidationError({"ends_at": ["must be after starts_at"]})
        return attrs

    def to_representation(self, instance: Any) -> dict[str, Any]:
        if isinstance(instance, TimeOff):
            return {
                "id": instance.pk,
                "rep": instance.rep.user.username,
                "starts_at": datetime_text(instance.starts_at),
                "ends_at": datetime_text(instance.ends_at),
                "reason": instance.reason,
                "note": instance.note,
            }
        return super().to_representation(instance)
