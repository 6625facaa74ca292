"""Lead shapes of API.md: the read representation (intake validation: apps.routing.intake_serializer)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from apps.api.leads.decisions import LeadDecisionSerializer
from apps.core.api.serializers import SharedFieldsMixin
from apps.leads.models import Lead, LeadActivity
from apps.reps.models import Rep
from apps.routing.intake_serializer import (  # noqa: F401  (re-exported: the API's shapes)
    INTAKE_FIELDS,
    MAX_EXTRA_CHARS,
    MAX_EXTRA_DEPTH,
    LeadIntakeSerializer,
    StrictCharField,
)
from apps.routing.models import Assignment
from apps.routing.trace import reason_for_viewer, trace_for_viewer

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
