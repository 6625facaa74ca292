"""Filters shared by every FilterSet."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django import forms
from django_filters import rest_framework as filters


class UtcIsoDateTimeField(forms.DateTimeField):
    """ISO 8601 with any offset, converted to UTC (PostgreSQL refuses offsets beyond ±15:59);
    out-of-range moments are invalid, not a 500."""

    def to_python(self, value: Any) -> datetime | None:
        try:
            result = super().to_python(value)
            return result.astimezone(UTC) if result is not None else None
        except OverflowError as exc:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from exc


class UtcIsoDateTimeFilter(filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField
