"""A lead's current decision in words (API.md "Readable decisions"): `decision` on
`GET /api/leads/{id}/`.

The rows are the admin's (:func:`apps.routing.trace.trace_readable`), so the lead's admin page
and the API say the same thing; here they take their public JSON shape. Managers read the trace
as recorded; anyone else reads colleagues as generic words (API.md "Trace redaction").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rest_framework import serializers

from apps.routing.models import Assignment
from apps.routing.trace import reason_for_viewer, trace_readable

__all__ = ["LeadDecisionSerializer", "lead_decision_words"]

#: a rule row's status -> the step's ``result``
_RESULTS = {"decided": "decided", "matched": "matched", "missed": "missed", "inactive": "inactive"}


class CandidateWordsSerializer(serializers.Serializer):
    rep = serializers.CharField(allow_null=True)
    eligible = serializers.BooleanField()
    chosen = serializers.BooleanField()
    why = serializers.CharField(help_text="Why the rep was or was not eligible, in words.")


class StepWordsSerializer(serializers.Serializer):
    position = serializers.IntegerField(allow_null=True)
    rule = serializers.CharField(allow_null=True)
    rule_id = serializers.IntegerField(allow_null=True)
    result = serializers.ChoiceField(
        choices=["decided", "matched", "missed", "inactive"],
        help_text="decided: it took the lead (or held it); matched: its conditions held but no one "
        "was eligible; missed: a condition failed; inactive: switched off.",
    )
    why = serializers.CharField(help_text="The failing condition, or what happened once matched.")
    pool = serializers.CharField(allow_null=True)
    chosen = serializers.CharField(allow_null=True)
    candidates = CandidateWordsSerializer(many=True)
    candidates_not_listed = serializers.IntegerField()


class SweepWordsSerializer(serializers.Serializer):
    kind = serializers.CharField()
    why = serializers.CharField()
    fallback_to_all_rules = serializers.BooleanField()


class TraceWordsSerializer(serializers.Serializer):
    outcome = serializers.CharField()
    summary = serializers.CharField()
    reason = serializers.CharField()
    evaluated_at = serializers.CharField(allow_null=True)
    territory = serializers.CharField(allow_null=True)
    steps = StepWordsSerializer(many=True)
    by = serializers.CharField(allow_null=True)
    note = serializers.CharField(allow_null=True)
    duplicate_of = serializers.IntegerField(allow_null=True)
    sweep = SweepWordsSerializer(allow_null=True)


class ConfigVersionRefSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    applied_at = serializers.DateTimeField()
    url = serializers.URLField(
        allow_null=True, help_text="The version's document (managers; null for anyone else)."
    )


class LeadDecisionSerializer(serializers.Serializer):
    """Why the lead's current owner has it: the assignment's reason, its trace in words and the
    configuration version that decided it. Read-only: built by :func:`lead_decision_words`."""

    rep = serializers.CharField()
    kind = serializers.CharField()
    rule = serializers.CharField()
    strategy = serializers.CharField()
    reason = serializers.CharField()
    actor = serializers.CharField(allow_null=True)
    assigned_at = serializers.DateTimeField()
    config_version = ConfigVersionRefSerializer(allow_null=True)
    trace = TraceWordsSerializer()

    def to_representation(self, instance: Any) -> Any:
        # already in its public shape (lead_decision_words): the fields above are its schema
        return instance


def _candidate(row: dict[str, Any]) -> dict[str, Any]:
    label, detail = row.get("label") or "", row.get("why") or ""
    return {
        "rep": row.get("rep"),
        "eligible": bool(row.get("eligible")),
        "chosen": bool(row.get("chosen")),
        "why": f"{label} ({detail})" if detail else label,
    }


def _step(row: dict[str, Any]) -> dict[str, Any]:
    result = _RESULTS.get(row.get("status") or "", "missed")
    return {
        "position": row.get("position"),
        "rule": row.get("name"),
        "rule_id": row.get("rule_id"),
        "result": result,
        "why": "the rule is inactive" if result == "inactive" else row.get("detail") or "",
        "pool": row.get("pool"),
        "chosen": row.get("chosen"),
        "candidates": [_candidate(c) for c in row.get("candidates") or []],
        "candidates_not_listed": row.get("omitted") or 0,
    }


def trace_words(trace: Any, *, full: bool, viewer: str | None) -> dict[str, Any]:
    """A stored trace as the public readable JSON: steps with words, redacted for non-managers."""
    rows = trace_readable(trace, full=full, viewer=viewer)
    sweep = rows.get("sweep")
    evaluated_at = rows.get("evaluated_at")
    return {
        "outcome": rows["outcome"],
        "summary": rows["outcome_label"],
        "reason": rows["reason"],
        "evaluated_at": evaluated_at if isinstance(evaluated_at, str) else None,
        "territory": rows.get("territory"),
        "steps": [_step(r) for r in rows["rules"]],
        "by": rows.get("actor"),
        "note": rows.get("note"),
        "duplicate_of": rows.get("duplicate_of"),
        "sweep": {
            "kind": str(sweep.get("kind") or ""),
            "why": str(sweep.get("why") or ""),
            "fallback_to_all_rules": bool(sweep.get("fallback_to_all_rules")),
        }
        if isinstance(sweep, dict)
        else None,
    }


def lead_decision_words(
    *,
    assignment: Assignment | None,
    full: bool,
    viewer: str | None,
    version_url: Callable[[int], str] | None,
) -> dict[str, Any] | None:
    """The current assignment in words, or None when the lead has no owner. ``version_url``
    links a version number to its document (managers: None hides the link)."""
    if assignment is None:
        return None
    version = assignment.config_version
    return {
        "rep": assignment.rep.user.username,
        "kind": assignment.kind,
        "rule": assignment.rule_name,
        "strategy": assignment.strategy,
        "reason": reason_for_viewer(assignment.reason, full=full),
        "actor": assignment.actor.username if assignment.actor_id else None,
        "assigned_at": serializers.DateTimeField().to_representation(assignment.assigned_at),
        "config_version": {
            "number": version.number,
            "applied_at": serializers.DateTimeField().to_representation(version.created_at),
            "url": version_url(version.number) if version_url is not None else None,
        }
        if version is not None
        else None,
        "trace": trace_words(assignment.trace, full=full, viewer=viewer),
    }
