"""The items of the configuration document, one strict serializer per kind (API.md)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from apps.accounts.models import domain_validator
from apps.core.api.validators import validate_plausible_moment
from apps.core.validators import (
    validate_country_code,
    validate_language_code,
    validate_region_code,
    validate_time_zone,
)
from apps.reps.models import TimeOffReason
from apps.rules.models import MAX_SLA_MINUTES, NoOneEligible, Strategy
from apps.territories.models import territory_code_validator

__all__ = [
    "COLLECTIONS",
    "ITEM_SERIALIZERS",
    "WEEKDAY_NAMES",
    "AccountItemSerializer",
    "ConfigValidationError",
    "ErrorTree",
    "RepItemSerializer",
    "RuleItemSerializer",
    "StrictSerializer",
    "TerritoryItemSerializer",
    "TimeOffItemSerializer",
    "WorkingHoursItemSerializer",
    "time_off_reason_field",
]

#: collection -> the key that names an item in it
COLLECTIONS = {"territories": "code", "reps": "username", "accounts": "domain", "rules": "name"}
WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

ErrorTree = dict[str, Any]


class ConfigValidationError(serializers.ValidationError):
    """The document is invalid; ``detail`` holds every error by path. Views answer 400.

    ``paths`` (set by the document's validation) holds the same errors by dotted path, the
    engine's at full depth (``rules.2.conditions.0.value``) where ``detail`` stops at the item's
    field.
    """

    paths: dict[str, list[str]] | None = None


def _django_validator(validator: Any) -> Any:
    """Wrap a Django validator so DRF reports its message (not a 500)."""

    def run(value: Any) -> None:
        try:
            validator(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc

    return run


#: Capacities are stored as 32-bit integers; far beyond any real rep, and a clean 400 past it.
MAX_CAPACITY = 1_000_000


class StrictSerializer(serializers.Serializer):
    """Refuses keys it does not know, so typos are errors, not silently dropped settings."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, Mapping):
            raise serializers.ValidationError(
                {"non_field_errors": [f"expected an object, got {type(data).__name__}"]}
            )
        unknown = [key for key in data if key not in self.fields or self.fields[key].read_only]
        errors: dict[str, list[str]] = {str(k): [f"unknown field '{k}'"] for k in unknown}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            detail = (
                exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
            )
            raise serializers.ValidationError({**detail, **errors}) from exc
        if errors:
            raise serializers.ValidationError(errors)
        return value


class CodeListField(serializers.ListField):
    """A list of codes: checked one by one, repeats dropped, order kept."""

    def __init__(self, *, item_validator: Any = None, normalise: Any = None, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("default", list)
        validators = [_django_validator(item_validator)] if item_validator else []
        kwargs["child"] = serializers.CharField(max_length=100, validators=validators)
        self.normalise = normalise
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> list[str]:
        values = super().to_internal_value(data)
        if self.normalise is not None:
            values = [self.normalise(v) for v in values]
        out: list[str] = []
        for value in values:
            if value and value not in out:
                out.append(value)
        return out


class TerritoryItemSerializer(StrictSerializer):
    code = serializers.CharField(
        max_length=40, validators=[_django_validator(territory_code_validator)]
    )
    name = serializers.CharField(max_length=200)
    parent = serializers.CharField(max_length=40, allow_null=True, required=False, default=None)
    countries = CodeListField(item_validator=validate_country_code)
    regions = CodeListField(item_validator=validate_region_code)
    postal_prefixes = CodeListField(normalise=lambda v: v.strip().upper())


class WorkingHoursItemSerializer(StrictSerializer):
    weekdays = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=6), min_length=1, max_length=7
    )
    start = serializers.TimeField(format="%H:%M", input_formats=["%H:%M", "%H:%M:%S"])
    end = serializers.TimeField(format="%H:%M", input_formats=["%H:%M", "%H:%M:%S"])

    def validate_weekdays(self, value: list[int]) -> list[int]:
        if len(set(value)) != len(value):
            raise serializers.ValidationError("weekdays must not repeat")
        return sorted(value)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["start"] == attrs["end"]:
            raise serializers.ValidationError({"end": ["start and end must differ"]})
        return attrs


def time_off_reason_field() -> serializers.ChoiceField:
    """A time-off reason code; free text is a 400 naming the codes (API.md "Time-off reasons")."""
    codes = ", ".join(TimeOffReason.values)
    return serializers.ChoiceField(
        choices=TimeOffReason.choices,
        required=False,
        default=TimeOffReason.OTHER,
        error_messages={
            "invalid_choice": f"'{{input}}' is not a time-off reason; use one of: {codes}."
        },
    )


class TimeOffItemSerializer(StrictSerializer):
    starts_at = serializers.DateTimeField(validators=[validate_plausible_moment])
    ends_at = serializers.DateTimeField(validators=[validate_plausible_moment])
    reason = time_off_reason_field()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["ends_at"] <= attrs["starts_at"]:
            raise serializers.ValidationError({"ends_at": ["must be after starts_at"]})
        return attrs


class RepItemSerializer(StrictSerializer):
    username = serializers.CharField(max_length=150, validators=[UnicodeUsernameValidator()])
    name = serializers.CharField(max_length=301, allow_blank=True, required=False, default="")
    email = serializers.EmailField(allow_blank=True, required=False, default="")
    time_zone = serializers.CharField(
        max_length=64,
        required=False,
        default="UTC",
        validators=[_django_validator(validate_time_zone)],
    )
    active = serializers.BooleanField(required=False, default=True)
    territories = CodeListField()
    weight = serializers.IntegerField(min_value=0, max_value=32767, required=False, default=1)
    max_open_leads = serializers.IntegerField(
        min_value=0, max_value=MAX_CAPACITY, allow_null=True, required=False, default=None
    )
    max_daily_leads = serializers.IntegerField(
        min_value=0, max_value=MAX_CAPACITY, allow_null=True, required=False, default=None
    )
    skills = CodeListField(normalise=lambda v: v.strip().lower())
    languages = CodeListField(
        item_validator=validate_language_code, normalise=lambda v: v.strip().lower()
    )
    working_hours = WorkingHoursItemSerializer(many=True, required=False, default=list)
    time_off = TimeOffItemSerializer(many=True, required=False, default=list)

    def validate_skills(self, value: list[str]) -> list[str]:
        return sorted(value)

    def validate_languages(self, value: list[str]) -> list[str]:
        return sorted(value)

    def validate_name(self, value: str) -> str:
        first, _, last = value.strip().partition(" ")
        if len(first) > 150 or len(last.strip()) > 150:
            raise serializers.ValidationError(
                "first and last name must each be at most 150 characters"
            )
        return value.strip()


class AccountItemSerializer(StrictSerializer):
    domain = serializers.CharField(max_length=253)
    name = serializers.CharField(max_length=200)
    owner = serializers.CharField(max_length=150, allow_null=True, required=False, default=None)

    def validate_domain(self, value: str) -> str:
        value = value.strip().lower()
        _django_validator(domain_validator)(value)
        return value


class RuleItemSerializer(StrictSerializer):
    # Optional: a document without keys (an old one) matches rules by name.
    key = serializers.SlugField(max_length=200, required=False)
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(allow_blank=True, required=False, default="")
    active = serializers.BooleanField(required=False, default=True)
    # Conditions and target are checked in depth by the engine's compiler (same rules as routing).
    conditions = serializers.JSONField(required=False, default=list)
    target = serializers.JSONField(required=False, allow_null=True, default=None)
    strategy = serializers.ChoiceField(
        choices=Strategy.choices, required=False, default=Strategy.ROUND_ROBIN
    )
    sla_minutes = serializers.IntegerField(
        min_value=1, max_value=MAX_SLA_MINUTES, allow_null=True, required=False, default=None
    )
    respect_working_hours = serializers.BooleanField(required=False, default=False)
    require_skill_from = serializers.CharField(
        max_length=100, allow_null=True, allow_blank=True, required=False, default=None
    )
    require_language = serializers.BooleanField(required=False, default=False)
    when_no_one_eligible = serializers.ChoiceField(
        choices=NoOneEligible.choices, required=False, default=NoOneEligible.NEXT_RULE
    )
    sla_business_hours = serializers.BooleanField(allow_null=True, required=False, default=None)

    def validate_name(self, value: str) -> str:
        return value.strip()

    def validate_conditions(self, value: Any) -> Any:
        if not isinstance(value, list):
            raise serializers.ValidationError("conditions must be a list")
        return value

    def validate_target(self, value: Any) -> Any:
        if value is not None and not isinstance(value, dict):
            raise serializers.ValidationError(
                'target must be {"territory": CODE}, {"territory": "$lead"} or {"reps": [...]}'
            )
        return value or None

    def validate_require_skill_from(self, value: str | None) -> str | None:
        return value or None


ITEM_SERIALIZERS: dict[str, type[StrictSerializer]] = {
    "territories": TerritoryItemSerializer,
    "reps": RepItemSerializer,
    "accounts": AccountItemSerializer,
    "rules": RuleItemSerializer,
}
