"""Intake validation and normalisation of a lead: one serializer for every way a lead comes in
(`POST /api/leads/`, the CSV import), so a value means the same whichever way it arrived."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from django.core import validators as django_validators
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from rest_framework import serializers
from rest_framework import validators as drf_validators

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


#: Validators the fast path runs itself (each raises on a bad value; the row then goes to DRF).
_PLAIN_VALIDATORS = (
    django_validators.MaxLengthValidator,
    django_validators.MinLengthValidator,
    django_validators.MaxValueValidator,
    django_validators.MinValueValidator,
    django_validators.ProhibitNullCharactersValidator,
    django_validators.EmailValidator,
    drf_validators.ProhibitSurrogateCharactersValidator,
)
_TEXT_FIELDS = (serializers.CharField, serializers.EmailField, StrictCharField)
#: A field's check: the value as validated, or an exception (any: the row goes to DRF).
_Check = Callable[[Any], Any]


class IntakeFastPath:
    """`LeadIntakeSerializer`'s validation of a common payload without running DRF per field.

    An import validates every row like the API; DRF's per-field machinery cost ~0.25 ms a row
    (bench/import.py), most of an import's budget. This runs the serializer's own field
    validators and `validate_<field>`/`validate` methods, in DRF's order, on payloads whose
    fields are all text or plain digits; anything else, and any value that fails a check,
    answers None and goes through the serializer, so errors (codes, messages) stay DRF's.
    tests/routing/test_intake_fast_path.py holds it equal to the serializer on what it accepts.
    """

    def __init__(self) -> None:
        self._serializer = LeadIntakeSerializer()
        self._checks: dict[str, _Check] = {}
        fields = self._serializer.fields
        self._required = frozenset(name for name, field in fields.items() if field.required)
        self._order = {name: position for position, name in enumerate(fields)}
        for name, field in fields.items():
            if field.read_only or any(
                type(validator) not in _PLAIN_VALIDATORS for validator in field.validators
            ):
                continue
            method = getattr(self._serializer, f"validate_{name}", None)
            if type(field) in _TEXT_FIELDS and field.trim_whitespace:
                self._checks[name] = self._text_check(field, method)
            elif type(field) is serializers.IntegerField:
                self._checks[name] = self._integer_check(field, method)

    @staticmethod
    def _text_check(field: serializers.Field, method: _Check | None) -> _Check:
        validators = tuple(field.validators)

        def check(value: Any) -> Any:
            if not isinstance(value, str):
                raise TypeError  # DRF's own coercions and errors apply
            value = value.strip()
            if not value:
                raise ValueError  # blank: DRF decides (allowed or not)
            for validator in validators:
                validator(value)
            return method(value) if method is not None else value

        return check

    @staticmethod
    def _integer_check(field: serializers.Field, method: _Check | None) -> _Check:
        validators = tuple(field.validators)
        longest = serializers.IntegerField.MAX_STRING_LENGTH

        def check(value: Any) -> Any:
            if (
                not (isinstance(value, str) and value.isascii() and value.isdigit())
                or len(value) > longest
            ):
                raise TypeError  # signs, decimals, spaces: DRF's own parsing applies
            number = int(value)
            for validator in validators:
                validator(number)
            return method(number) if method is not None else number

        return check

    def validated(self, payload: Mapping[str, Any]) -> dict[str, Any] | None:
        """The serializer's `validated_data` for `payload`, or None: ask the serializer."""
        if not self._required.issubset(payload):
            return None
        checks, attrs = self._checks, {}
        try:
            for name in sorted(payload, key=self._order.__getitem__):
                attrs[name] = checks[name](payload[name])
            return self._serializer.validate(attrs)
        except Exception:  # any doubt: the serializer decides, and explains
            return None


__all__ = [
    "INTAKE_FIELDS",
    "MAX_EXTRA_CHARS",
    "MAX_EXTRA_DEPTH",
    "IntakeFastPath",
    "LeadIntakeSerializer",
    "StrictCharField",
]
