"""Intake validation and normalisation of a lead: one serializer for every way a lead comes in
(`POST /api/leads/`, the CSV import), so a value means the same whichever way it arrived."""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from rest_framework import serializers

from apps.core.api.parsers import json_value_problem
from apps.core.api.serializers import SharedFieldsMixin
from apps.core.api.validators import validate_plausible_moment
from apps.core.validators import normalize_country, normalize_region, validate_language_code
from apps.leads.models import Lead

INTAKE_FIELDS = (
    "external_id",
    "email",
    "first_name",
    "last_name",
    "phone",
    "company",
    "title",
    "city",
    "country",
    "region",
    "postal_code",
    "industry",
    "lead_source",
    "product_interest",
    "company_size",
    "annual_revenue",
    "lead_score",
    "language",
    "created_at",
    "extra",
)


#: Custom attributes are for routing facts, not documents: cap their size (JSON characters)
#: and nesting (levels below `extra` itself).
MAX_EXTRA_CHARS = 16_384
MAX_EXTRA_DEPTH = 10


class StrictCharField(serializers.CharField):
    """A CharField that takes only JSON strings: a number is a 400, not silently coerced."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)  # type: ignore[no-any-return]


def _has_nul(value: Any) -> bool:
    """True when a string anywhere in a JSON value holds NUL (PostgreSQL refuses it)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


class LeadIntakeSerializer(SharedFieldsMixin, serializers.ModelSerializer):
    """Validates and normalises an incoming lead; unknown codes are 400s naming the field."""

    email = serializers.EmailField(max_length=254)
    # An idempotency key compared as text: 8841 and "8841" must not silently be the same key.
    external_id = StrictCharField(max_length=255, required=False, allow_null=True, allow_blank=True)
    country = serializers.CharField(max_length=100, required=False, allow_blank=True)
    region = serializers.CharField(max_length=100, required=False, allow_blank=True)
    language = serializers.CharField(max_length=20, required=False, allow_blank=True)
    company_size = serializers.IntegerField(
        min_value=0, max_value=10_000_000, required=False, allow_null=True
    )
    annual_revenue = serializers.DecimalField(
        max_digits=18, decimal_places=2, min_value=0, required=False, allow_null=True
    )
    lead_score = serializers.IntegerField(
        min_value=0, max_value=100, required=False, allow_null=True
    )
    created_at = serializers.DateTimeField(required=False)
    extra = serializers.DictField(required=False)

    class Meta:
        model = Lead
        fields = INTAKE_FIELDS
        # What DRF would derive anyway (the key's unique constraint names submitted_by, which is
        # not an input; lead_create's insert enforces it), stated so it is not re-derived from
        # the model for every lead: a third of validation time in an import (bench/import.py).
        validators: list[object] = []

    def validate_extra(self, value: dict[str, Any]) -> dict[str, Any]:
        problem = json_value_problem(value, max_depth=MAX_EXTRA_DEPTH)
        if problem:
            raise serializers.ValidationError(problem)
        if _has_nul(value):
            raise serializers.ValidationError("Keys and values cannot contain NUL characters.")
        if len(json.dumps(value)) > MAX_EXTRA_CHARS:
            raise serializers.ValidationError(
                f"Custom attributes are limited to {MAX_EXTRA_CHARS} characters of JSON."
            )
        return value

    def validate_country(self, value: str) -> str:
        if not value.strip():
            return ""
        try:
            return normalize_country(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc

    def validate_language(self, value: str) -> str:
        value = value.strip().lower()
        if not value:
            return ""
        try:
            validate_language_code(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc
        return value

    def validate_created_at(self, value: Any) -> Any:
        validate_plausible_moment(value)
        # A minute of slack for clocks of the systems posting leads.
        if value > timezone.now() + timezone.timedelta(minutes=1):
            raise serializers.ValidationError("created_at cannot be in the future.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        region = (attrs.get("region") or "").strip()
        if region:
            try:
                attrs["region"] = normalize_region(region, attrs.get("country") or None)
            except DjangoValidationError as exc:
                raise serializers.ValidationError({"region": exc.messages}) from exc
            if not attrs.get("country"):
                attrs["country"] = attrs["region"].split("-", 1)[0]
        for name in (
            "first_name",
            "last_name",
            "company",
            "title",
            "city",
            "industry",
            "lead_source",
            "product_interest",
            "phone",
            "postal_code",
        ):
            if name in attrs and isinstance(attrs[name], str):
                attrs[name] = " ".join(attrs[name].split())
        if attrs.get("postal_code"):
            attrs["postal_code"] = attrs["postal_code"].upper()
        if attrs.get("external_id") == "":
            attrs["external_id"] = None
        return attrs


__all__ = [
    "INTAKE_FIELDS",
    "MAX_EXTRA_CHARS",
    "MAX_EXTRA_DEPTH",
    "LeadIntakeSerializer",
    "StrictCharField",
]
