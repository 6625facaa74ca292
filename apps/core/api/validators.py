"""DRF field validators shared by the API serializers."""

from __future__ import annotations

from datetime import datetime

from rest_framework import serializers

#: Moments outside these years are typos (and overflow date arithmetic near year 1 or 9999).
PLAUSIBLE_YEARS = (1970, 2200)


def validate_plausible_moment(value: datetime) -> None:
    if not PLAUSIBLE_YEARS[0] <= value.year <= PLAUSIBLE_YEARS[1]:
        raise serializers.ValidationError(
            f"Must lie between the years {PLAUSIBLE_YEARS[0]} and {PLAUSIBLE_YEARS[1]}."
        )
