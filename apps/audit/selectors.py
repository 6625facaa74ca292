"""Read side of the rule audit: per rule, over a window of days, what it did, whether it is
dead or shadowed, and how it changed; the leads no rule placed; the window's sign-offs.

The window is by lead ``created_at`` (as every dashboard): a lead counts in the quarter it
came in. *Hits* are the rule's routing decisions (``auto`` and ``retry`` assignments, see
:data:`apps.audit.replay.DECIDING_KINDS`); conversions and response time are those leads'.
Every figure is aggregated by the database or streamed once: a fixed number of queries.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from django.db.models import Count, Q, QuerySet

from apps.audit.models import AuditSignOff
from apps.audit.replay import DECIDING_KINDS, ShadowEvidence, shadow_evidence_collect
from apps.configuration.diff import config_diff
from apps.configuration.export import datetime_text
from apps.configuration.models import RoutingConfigVersion
from apps.core.db import PercentileCont, seconds_between
from apps.core.windows import DateWindow
from apps.engine import ConfigError
from apps.engine.coverage import rule_shadows
from apps.leads.models import Lead, LeadActivity, LeadActivityKind, LeadStatus
from apps.routing.models import Assignment
from apps.routing.selectors import config_current
from apps.rules.models import RoutingRule

__all__ = [
    "StaticShadows",
    "audit_sign_offs",
    "rule_audit_report",
    "rule_changes_between",
    "sign_off_json",
    "static_shadow_analysis",
    "unrouted_reason",
]

#: rules (in evaluation order) -> {rule id: ids of the earlier rules whose conditions always
#: cover it}
StaticShadows = Callable[..., Mapping[int, Sequence[int]]]


def static_shadow_analysis(*, rules: Sequence[RoutingRule]) -> Mapping[int, Sequence[int]]:
    """The static analysis the rule admin warns with (apps.engine.coverage): an earlier rule's
    conditions always cover this one's and that rule always decides, on the configuration in
    force. Shadows that hold only for first routings (an SLA move can still reach the rule) are
    left to the data. :func:`rule_audit_report` merges these into ``shadowed_by`` as
    ``"conditions"``."""
    try:
        config = config_current()
    except ConfigError:
        return {}
    listed = {rule.pk for rule in rules}
    return {
        rule_id: [shadow.by_rule_id]
        for rule_id, shadow in rule_shadows(config.snapshot, config.compiled).items()
        if rule_id in listed and not shadow.reassignments_only
    }


def audit_sign_offs(*, window: DateWindow) -> QuerySet[AuditSignOff]:
    """The sign-offs recorded for exactly this window, newest first."""
    return AuditSignOff.objects.filter(start=window.start, end=window.end).select_related(
        "reviewed_by"
    )


def sign_off_json(row: AuditSignOff) -> dict[str, Any]:
    return {
        "id": row.pk,
        "reviewed_by": row.reviewed_by.get_username(),
        "reviewed_at": datetime_text(row.reviewed_at),
        "notes": row.notes,
        "config_version": row.config_version_number or None,
    }


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _figures(low: datetime, high: datetime) -> tuple[dict[int, dict[str, Any]], dict[str, int]]:
    """Per live rule id: hits, converted, median response; and hits of since-deleted rules
    by the name they had (two queries)."""
    decided = (
        Assignment.objects.filter(
            kind__in=DECIDING_KINDS, lead__created_at__gte=low, lead__created_at__lt=high
        )
        .order_by()
        .annotate(secs=seconds_between("lead__first_contacted_at", "lead__created_at"))
    )
    live = {
        row["rule_id"]: row
        for row in decided.filter(rule__isnull=False)
        .values("rule_id")
        .annotate(
            hits=Count("lead_id", distinct=True),
            converted=Count("lead_id", distinct=True, filter=Q(lead__status=LeadStatus.CONVERTED)),
            median=PercentileCont("secs", 0.5),
        )
    }
    deleted = {
        row["rule_name"]: row["hits"]
        for row in decided.filter(rule__isnull=True)
        .values("rule_name")
        .annotate(hits=Count("lead_id", distinct=True))
    }
    return live, deleted


def rule_changes_between(
    *, low: datetime, high: datetime, names: dict[str, str] | None = None
) -> dict[str, list[dict[str, Any]]]:
    """Per rule key, its changes by the versions recorded in [low, high), oldest first:
    ``{"at", "user", "version", "summary"}`` (each version's changes to the rule in one line).
    Diffs each version's rules with the previous version's (two queries, streamed). ``names``,
    if given, receives each changed rule's latest name (a deleted rule's is its last)."""
    before = (
        RoutingConfigVersion.objects.filter(created_at__lt=low)
        .order_by("-number")
        .values_list("document__rules", flat=True)
        .first()
    )
    previous: dict[str, Any] = {"rules": before} if before is not None else {}
    changes: dict[str, list[dict[str, Any]]] = defaultdict(list)
    versions = (
        RoutingConfigVersion.objects.filter(created_at__gte=low, created_at__lt=high)
        .order_by("number")
        .values_list("number", "created_at", "author__username", "document__rules")
    )
    for number, created_at, username, rules in versions.iterator(chunk_size=100):
        current = {"rules": rules or []}
        by_key: dict[str, list[str]] = defaultdict(list)
        for change in config_diff(previous or None, current):
            by_key[change.key].append(change.summary)
            if names is not None:
                names[change.key] = change.subject
        for key, summaries in by_key.items():
            changes[key].append(
                {
                    "at": datetime_text(created_at),
                    "user": username,
                    "version": number,
                    "summary": "; ".join(summaries),
                }
            )
        previous = current
    return changes


def unrouted_reason(note: str, trace: Any) -> str:
    """Why a lead waits unrouted, in a few words people group by (the engine's reason holds
    counts that differ per lead): no rule matched, a rule held it, or no one was eligible."""
    rules = trace.get("rules") if isinstance(trace, Mapping) else None
    matched = [e for e in rules or () if isinstance(e, Mapping) and e.get("matched")]
    if rules is not None and not matched:
        return "No rule matched"
    if "holds the lead" in note:
        held_by = matched[-1].get("rule") if matched else note.split(":", 1)[0]
        return f"Held by rule {held_by}"
    if matched:
        return "No eligible rep in the matching rules"
    return note or "Unknown"


def _unrouted(low: datetime, high: datetime) -> dict[str, Any]:
    """Leads that came in the window and wait unrouted, counted by reason (two queries)."""
    latest: dict[int, tuple[str, Any]] = {}
    activities = (
        LeadActivity.objects.filter(
            kind=LeadActivityKind.UNROUTED,
            lead__status=LeadStatus.UNROUTED,
            lead__created_at__gte=low,
            lead__created_at__lt=high,
        )
        .order_by("at", "id")
        .values_list("lead_id", "note", "data__trace")
    )
    for lead_id, note, trace in activities.iterator(chunk_size=500):
        latest[lead_id] = (note, trace)
    total = Lead.objects.filter(
        status=LeadStatus.UNROUTED, created_at__gte=low, created_at__lt=high
    ).count()
    counts: dict[str, int] = defaultdict(int)
    for note, trace in latest.values():
        counts[unrouted_reason(note, trace)] += 1
    if total > len(latest):
        counts["Unknown (no routing record)"] += total - len(latest)
    by_reason = [
        {"reason": reason, "leads": n}
        for reason, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]
    return {"total": total, "by_reason": by_reason}


def _shadowed_by(
    rule: RoutingRule,
    evidence: ShadowEvidence,
    hits: int,
    static: Mapping[int, Sequence[int]],
    rules_by_key: Mapping[str, RoutingRule],
    rules_by_id: Mapping[int, RoutingRule],
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    taken = evidence.shadowers(rule.key) if hits == 0 else None
    for key, leads in sorted((taken or {}).items(), key=lambda item: (-item[1], item[0])):
        other = rules_by_key.get(key)
        out.append(
            {"id": other.pk if other else None, "name": other.name if other else key,
             "how": "data", "leads": leads}
        )  # fmt: skip
    for other_id in static.get(rule.pk, ()):
        other = rules_by_id.get(other_id)
        if other is not None and not any(e["id"] == other_id for e in out):
            out.append({"id": other_id, "name": other.name, "how": "conditions", "leads": None})
    return out


def rule_audit_report(
    *, window: DateWindow, static_shadows: StaticShadows = static_shadow_analysis
) -> dict[str, Any]:
    """The audit of every rule over ``window`` (docs/API.md "Dashboards and audits")."""
    low, high = window.bounds()
    rules = list(RoutingRule.objects.order_by("position", "id"))
    rules_by_key = {rule.key: rule for rule in rules}
    rules_by_id = {rule.pk: rule for rule in rules}
    live, deleted = _figures(low, high)
    evidence = shadow_evidence_collect(
        low=low, high=high, keys_by_rule_id={rule.pk: rule.key for rule in rules}
    )
    names: dict[str, str] = {}
    changes = rule_changes_between(low=low, high=high, names=names)
    static = static_shadows(rules=rules)

    rows = []
    for position, rule in enumerate(rules, start=1):
        figures = live.get(rule.pk, {})
        hits = figures.get("hits", 0)
        converted = figures.get("converted", 0)
        rows.append(
            {
                "id": rule.pk,
                "key": rule.key,
                "name": rule.name,
                "position": position,
                "active": rule.active,
                "hits": hits,
                "converted": converted,
                "conversion_rate": round(converted / hits, 4) if hits else None,
                "median_response_seconds": _round(figures.get("median"), 1),
                "never_fired": hits == 0,
                "matched": evidence.matched.get(rule.key, 0),
                "shadowed_by": _shadowed_by(
                    rule, evidence, hits, static, rules_by_key, rules_by_id
                ),
                "changes": changes.pop(rule.key, []),
            }
        )
    # What remains in `changes` belongs to rules deleted since: their history is part of the audit.
    removed = [
        {
            "key": key,
            "name": names.get(key, key),
            "hits": deleted.get(names.get(key, key), 0),
            "changes": history,
        }
        for key, history in changes.items()
    ]
    return {
        "window": {"start": window.start.isoformat(), "end": window.end.isoformat()},
        "rules": rows,
        "removed_rules": removed,
        "unrouted": _unrouted(low, high),
        "replay": {"leads": evidence.replayed, "not_replayed": evidence.not_replayed},
        "sign_offs": [sign_off_json(row) for row in audit_sign_offs(window=window)],
    }
