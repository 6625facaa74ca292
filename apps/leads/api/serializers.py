"""Lead shapes of API.md: intake validation/normalisation and the read representation."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from rest_framework import serializers

from apps.core.validators import normalize_country, normalize_region, validate_language_code
from apps.leads.models import Lead

INTAKE_FIELDS = (
    "external_id", "email", "first_name", "last_name", "phone", "company", "title", "city",
    "country", "region", "postal_code", "industry", "lead_source", "product_interest",
    "company_size", "annual_revenue", "lead_score", "language", "created_at", "extra",
)
ROUTING_FIELDS = (
    "id", "email_domain", "status", "owner", "territory", "rule", "duplicate_of", "assigned_at",
    "first_contacted_at", "closed_at", "sla_due_at", "reassignment_count", "escalated_at",
)


class LeadIntakeSerializer(serializers.ModelSerializer):
    """Validates and normalises an incoming lead; unknown codes are 400s naming the field."""

    email = serializers.EmailField(max_length=254)
    external_id = serializers.CharField(max_length=255, required=False, allow_null=True, allow_blank=True)
    country = serializers.CharField(max_length=100, required=False, allow_blank=True)
    region = serializers.CharField(max_length=100, required=False, allow_blank=True)
    language = serializers.CharField(max_length=20, required=False, allow_blank=True)
    company_size = serializers.IntegerField(min_value=0, max_value=10_000_000, required=False, allow_null=True)
    annual_revenue = serializers.DecimalField(
        max_digits=18, decimal_places=2, min_value=0, required=False, allow_null=True
    )
    lead_score = serializers.IntegerField(min_value=0, max_value=100, required=False, allow_null=True)
    created_at = serializers.DateTimeField(required=False)
    extra = serializers.DictField(required=False)

    class Meta:
        model = Lead
        fields = INTAKE_FIELDS

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
        for name in ("first_name", "last_name", "company", "title", "city", "industry",
                     "lead_source", "product_interest", "phone", "postal_code"):
            if name in attrs and isinstance(attrs[name], str):
                attrs[name] = " ".join(attrs[name].split())
        if attrs.get("postal_code"):
            attrs["postal_code"] = attrs["postal_code"].upper()
        if attrs.get("external_id") == "":
            attrs["external_id"] = None
        return attrs


class LeadSerializer(serializers.ModelSerializer):
    """A lead as API.md shows it: every intake field plus routing state."""

    owner = serializers.SerializerMethodField()
    territory = serializers.SlugRelatedField(slug_field="code", read_only=True)
    rule = serializers.SlugRelatedField(slug_field="name", read_only=True)

    class Meta:
        model = Lead
        fields = (*ROUTING_FIELDS[:1], *INTAKE_FIELDS, *ROUTING_FIELDS[1:])
        read_only_fields = fields

    def get_owner(self, instance: Lead) -> str | None:
        return instance.owner.user.username if instance.owner_id else None
