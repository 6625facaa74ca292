"""A backtest as a report: the JSON document (API.md "Backtest") and readable trace lines."""

from __future__ import annotations

from typing import Any

from apps.configuration.export import datetime_text
from apps.engine.replay import UNROUTED_REASONS
from apps.leads.models import Lead, LeadActivity, LeadActivityKind
from apps.routing.backtest import FIRST_ROUTING_KINDS, BacktestRun
from apps.routing.models import Assignment

__all__ = ["DEFINITIONS", "backtest_report", "trace_lines"]

DEFINITIONS = {
    "before": "the rep of each lead's first automatic assignment (routing, a retry of an "
    "unrouted lead, or a duplicate kept with its original's owner); a lead routing never "
    "assigned counts as unrouted, even if someone assigned it by hand later",
    "after": "the rep the draft gives the lead when replayed at its creation time",
    "gini": "Gini coefficient of leads per rep (0 = perfectly even), over the reps listed in "
    "per_rep (active in the draft, or holding leads either way)",
}


def trace_lines(trace: Any) -> list[str]:
    """A routing trace as short lines a person reads: one per rule, then the outcome."""
    if not isinstance(trace, dict):
        return []
    if trace.get("outcome") == "duplicate":
        return [f"duplicate of lead #{trace.get('duplicate_of')}: kept with its owner"]
    lines = []
    for entry in trace.get("rules", []):
        if not isinstance(entry, dict):
            continue
        mark = "+" if entry.get("matched") else "-"
        line = f"{mark} {entry.get('rule')}: {entry.get('detail')}"
        chosen = entry.get("chosen")
        if chosen:
            line += f" -> {chosen}"
        lines.append(line)
        for candidate in entry.get("candidates", [])[:5]:
            if isinstance(candidate, dict) and candidate.get("rep") != chosen:
                lines.append(f"    {candidate.get('rep')}: {candidate.get('why')}")
    if trace.get("reason"):
        lines.append(f"= {trace['reason']}")
    return lines


def _before_sides(lead_ids: list[int]) -> dict[int, dict[str, Any]]:
    """What routing actually recorded for these leads: first assignment, else the unrouted note."""
    sides: dict[int, dict[str, Any]] = {}
    assignments = (
        Assignment.objects.filter(lead_id__in=lead_ids, kind__in=FIRST_ROUTING_KINDS)
        .order_by("lead_id", "assigned_at", "id")
        .values_list("lead_id", "rep__user__username", "reason", "trace")
    )
    for lead_id, username, reason, trace in assignments:
        if lead_id not in sides:
            sides[lead_id] = {"rep": username, "reason": reason, "trace": trace}
    missing = [i for i in lead_ids if i not in sides]
    if missing:
        notes = (
            LeadActivity.objects.filter(lead_id__in=missing, kind=LeadActivityKind.UNROUTED)
            .order_by("lead_id", "at", "id")
            .values_list("lead_id", "note", "data")
        )
        for lead_id, note, data in notes:
            if lead_id not in sides:
                trace = data.get("trace") if isinstance(data, dict) else None
                sides[lead_id] = {"rep": None, "reason": note, "trace": trace}
    for lead_id in missing:
        sides.setdefault(lead_id, {"rep": None, "reason": "never routed", "trace": None})
    return sides


def _reasons(counts: Any) -> dict[str, Any]:
    return {
        "count": sum(counts.values()),
        "by_reason": [
            {"reason": code, "label": UNROUTED_REASONS.get(code, code), "count": n}
            for code, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
    }


def backtest_report(run: BacktestRun) -> dict[str, Any]:
    """The report of a run as plain JSON (3 queries for the sample's leads and traces)."""
    result = run.result
    names = run.usernames
    draft_reps = {rep.rep_id: rep for rep in run.draft.snapshot.reps}
    listed = sorted(
        {r for r, rep in draft_reps.items() if rep.active} | set(result.before) | set(result.after),
        key=lambda r: names.get(r, str(r)),
    )
    per_rep = [
        {
            "rep": names.get(r, f"#{r}"),
            "rep_id": r if r > 0 else None,
            "before": result.before[r],
            "after": result.after[r],
            "delta": result.after[r] - result.before[r],
            "in_draft": r in draft_reps,
        }
        for r in listed
    ]
    gini_before, gini_after = result.gini(listed)
    lead_ids = [change.lead_id for change in result.sample]
    emails = dict(Lead.objects.filter(pk__in=lead_ids).values_list("id", "email"))
    before = _before_sides(lead_ids) if lead_ids else {}
    sample = []
    for change in result.sample:
        decision = change.decision
        if decision is None:
            after_reason = "duplicate: follows its original's owner under the draft"
            after_trace: Any = None
        else:
            after_reason, after_trace = decision.reason, decision.trace
        sample.append(
            {
                "lead_id": change.lead_id,
                "email": emails.get(change.lead_id, ""),
                "created_at": datetime_text(change.created_at),
                "before": {
                    **before[change.lead_id],
                    "rep": names.get(change.before_rep_id) if change.before_rep_id else None,
                },
                "after": {
                    "rep": names.get(change.after_rep_id) if change.after_rep_id else None,
                    "reason": after_reason,
                    "trace": after_trace,
                },
            }
        )
    seconds = round(run.seconds, 3)
    return {
        "window": {
            "start": run.start.isoformat(),
            "end": run.end.isoformat(),
            "time_zone": "UTC",
        },
        "leads": result.leads,
        "definitions": DEFINITIONS,
        "per_rep": per_rep,
        "changed": {
            "count": result.changed,
            "share": round(result.changed / result.leads, 4) if result.leads else None,
            "sample": sample,
        },
        "unrouted": {
            "before": _reasons(result.unrouted_before),
            "after": _reasons(result.unrouted_after),
        },
        "baseline": {
            "changed": run.baseline_changed,
            "note": "owners that differ when the live configuration is replayed the same way: "
            "the part of changed.count the replay's approximations alone explain",
        },
        "assigned_anyway": result.assigned_anyway,
        "capacity_breaches": [
            {
                "rep": names.get(b.rep_id, f"#{b.rep_id}"),
                "limit": b.limit,
                "cap": b.cap,
                "assignments": b.assignments,
                "peak": b.peak,
                "first_at": datetime_text(b.first_at),
            }
            for b in result.breaches
        ],
        "balance": {"gini_before": gini_before, "gini_after": gini_after, "reps": len(listed)},
        "approximations": run.approximations,
        "stats": {
            "seconds": seconds,
            "leads_per_second": round(result.leads / run.seconds) if run.seconds > 0 else None,
            "compilations": result.compilations,
        },
    }
