"""Lead shapes of API.md: intake validation/normalisation and the read representation."""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from rest_framework import serializers

from apps.api.leads.decisions import LeadDecisionSerializer
from apps.core.api.parsers import json_value_problem
from apps.core.api.serializers import SharedFieldsMixin
from apps.core.api.validators import validate_plausible_moment
from apps.core.validators import normalize_country, normalize_region, validate_language_code
from apps.leads.models import Lead, LeadActivity
from apps.reps.models import Rep
from apps.routing.models import Assignment
from apps.routing.trace import reason_for_viewer, trace_for_viewer

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
ROUTING_FIELDS = (
    "id",
    "email_domain",
    "status",
    "owner",
    "territory",
    "rule",
    "duplicate_of",
    "assigned_at",
    "first_contacted_at",
    "closed_at",
    "sla_due_at",
    "reassignment_count",
    "escalated_at",
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


class LeadSerializer(SharedFieldsMixin, serializers.ModelSerializer):
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


class LeadDetailSerializer(LeadSerializer):
    """`GET /api/leads/{id}/`: the lead plus ``decision``, why its current owner has it (in words,
    with the configuration version), as :func:`apps.api.leads.decisions.lead_decision_words`
    builds it for the reader; the view puts it on the lead as ``decision_words``."""

    decision = LeadDecisionSerializer(source="decision_words", read_only=True, allow_null=True)

    class Meta(LeadSerializer.Meta):
        fields = (*LeadSerializer.Meta.fields, "decision")
        read_only_fields = fields


class LeadReceiptSerializer(serializers.ModelSerializer):
    """What a repeated submission learns about the lead its `external_id` created: `{id, status}`."""

    class Meta:
        model = Lead
        fields = ("id", "status")
        read_only_fields = fields


class LeadContactSerializer(serializers.Serializer):
    """`{"at"?, "note"?}` for the first-touch action; the service checks `at` against the lead."""

    at = serializers.DateTimeField(required=False, allow_null=True)
    note = serializers.CharField(required=False, allow_blank=True, max_length=10_000, default="")


class LeadCloseSerializer(serializers.Serializer):
    """`{"reason"}` for convert and disqualify."""

    reason = serializers.CharField(required=False, allow_blank=True, max_length=10_000, default="")


class LeadReassignSerializer(serializers.Serializer):
    """`{"rep": username, "note"}`: the note is required; the rep must exist and be active."""

    rep = serializers.CharField(max_length=150)
    note = serializers.CharField(max_length=10_000)

    def validate_rep(self, value: str) -> Rep:
        rep = Rep.objects.select_related("user").filter(user__username=value).first()
        if rep is None:
            raise serializers.ValidationError(f"Unknown rep '{value}'.")
        if not rep.active:
            raise serializers.ValidationError(f"Rep '{value}' is inactive.")
        return rep


class _TraceViewerMixin:
    """Renders traces and reason sentences for the reader: the view puts ``trace_full`` (a
    manager) and ``trace_viewer`` (the reader's username) in the context; without them the
    record is shown redacted, as to a rep (apps/routing/trace.py)."""

    def _full(self) -> tuple[bool, str | None]:
        context = self.context  # type: ignore[attr-defined]
        return bool(context.get("trace_full", False)), context.get("trace_viewer")


class LeadActivitySerializer(_TraceViewerMixin, SharedFieldsMixin, serializers.ModelSerializer):
    """One entry of a lead's activity log (read-only: the log is append-only)."""

    actor = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = LeadActivity
        fields = ("kind", "at", "actor", "note", "data")
        read_only_fields = fields

    def to_representation(self, instance: Any) -> Any:
        data = super().to_representation(instance)
        full, viewer = self._full()
        if not full:
            data["note"] = reason_for_viewer(data.get("note") or "", full=False)
            details = data.get("data")
            if isinstance(details, dict) and "trace" in details:
                data["data"] = {
                    **details,
                    "trace": trace_for_viewer(details["trace"], full=False, viewer=viewer),
                }
        return data


class LeadAssignmentSerializer(_TraceViewerMixin, SharedFieldsMixin, serializers.ModelSerializer):
    """One entry of a lead's assignment history (read-only: assignments are never edited)."""

    rep = serializers.SlugRelatedField(slug_field="username", source="rep.user", read_only=True)
    rule = serializers.CharField(source="rule_name", read_only=True)
    actor = serializers.SlugRelatedField(slug_field="username", read_only=True)
    # The configuration version whose rules decided it (null before versions were linked).
    config_version = serializers.IntegerField(
        source="config_version.number", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = Assignment
        fields = (
            "rep",
            "rule",
            "config_version",
            "strategy",
            "kind",
            "reason",
            "actor",
            "assigned_at",
            "ended_at",
            "trace",
        )
        read_only_fields = fields

    def to_representation(self, instance: Any) -> Any:
        data = super().to_representation(instance)
        full, viewer = self._full()
        if not full:
            data["reason"] = reason_for_viewer(data.get("reason") or "", full=False)
            data["trace"] = trace_for_viewer(data.get("trace"), full=False, viewer=viewer)
        return data
