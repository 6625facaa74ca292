"""A routing trace (apps/engine/decide.py) as rows a manager reads, for the admin's templates.

The same rendering serves "Test a lead" (a simulated decision) and a lead's page (the decision
recorded with its assignment). A trace is stored JSON: any key may be missing in old records,
so every read here has a default.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from apps.engine import Why

__all__ = ["WHY_LABELS", "trace_html", "trace_readable"]

TEMPLATE = "admin/routing/_trace.html"

#: a candidate's machine code -> the short label shown next to the rep
WHY_LABELS: dict[str, str] = {
    Why.ELIGIBLE: "eligible",
    Why.ALREADY_HELD: "already held this lead",
    Why.INACTIVE: "inactive",
    Why.AWAY: "away",
    Why.TIME_OFF: "on time off",
    Why.AT_CAPACITY_OPEN: "at capacity (open leads)",
    Why.AT_CAPACITY_DAILY: "at capacity (daily cap)",
    Why.OUTSIDE_HOURS: "outside working hours",
    Why.MISSING_SKILL: "missing skill",
    Why.MISSING_LANGUAGE: "does not speak the language",
    Why.WEIGHT_ZERO: "weight 0",
    Why.ASSIGNED_ANYWAY: "not eligible; assigned anyway",
}

OUTCOMES = {
    "assigned": "Assigned",
    "unrouted": "Unrouted",
    "manual": "Reassigned by hand",
    "duplicate": "Kept with the owner of the open duplicate",
}


def _candidate(entry: Any, chosen: str | None) -> dict[str, Any]:
    if not isinstance(entry, dict):
        return {"rep": str(entry), "eligible": False, "label": "", "why": "", "chosen": False}
    code = entry.get("code")
    eligible = bool(entry.get("eligible"))
    label = WHY_LABELS.get(code, "") if isinstance(code, str) else ""
    if not label:
        label = "eligible" if eligible else "not eligible"
    why = str(entry.get("why") or "")
    return {
        "rep": entry.get("rep"),
        "eligible": eligible,
        "code": code,
        "label": label,
        # the sentence adds detail (until when, which hours) only when it says more than the label
        "why": "" if why == label else why,
        "chosen": chosen is not None and entry.get("rep") == chosen,
    }


def _rule(entry: Any) -> dict[str, Any]:
    if not isinstance(entry, dict):
        return {"name": str(entry), "status": "missed", "detail": "", "candidates": []}
    chosen = entry.get("chosen")
    detail = str(entry.get("detail") or "")
    if entry.get("matched"):
        status = "decided" if chosen else "matched"
    else:
        status = "inactive" if detail == "inactive" else "missed"
    candidates = entry.get("candidates") if isinstance(entry.get("candidates"), list) else []
    return {
        "name": entry.get("rule"),
        "rule_id": entry.get("rule_id"),
        "position": entry.get("position"),
        "status": status,
        "detail": detail,
        "pool": entry.get("pool"),
        "chosen": chosen,
        "forced": bool(entry.get("forced")),
        "candidates": [_candidate(c, chosen) for c in candidates],
        "omitted": entry.get("omitted") or 0,
    }


def _moment(value: Any) -> datetime | None:
    """The stored ISO moment as an aware datetime (templates show it in the viewer's zone)."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def trace_readable(trace: Any) -> dict[str, Any]:
    """The trace as plain rows: outcome, reason, one row per rule evaluated, its candidates."""
    if not isinstance(trace, dict):
        return {"rules": [], "outcome": "", "outcome_label": "", "reason": "", "empty": True}
    outcome = str(trace.get("outcome") or "")
    rules = trace.get("rules") if isinstance(trace.get("rules"), list) else []
    sweep = trace.get("sweep") if isinstance(trace.get("sweep"), dict) else None
    return {
        "evaluated_at": _moment(trace.get("evaluated_at")),
        "territory": trace.get("territory"),
        "outcome": outcome,
        "outcome_label": OUTCOMES.get(outcome, outcome.replace("_", " ").capitalize()),
        "reason": trace.get("reason") or "",
        "rules": [_rule(r) for r in rules],
        "sweep": sweep,
        "actor": trace.get("actor"),
        "note": trace.get("note"),
        "duplicate_of": trace.get("duplicate_of"),
        "empty": not rules and not sweep and outcome not in ("manual", "duplicate"),
    }


def trace_html(trace: Any, *, raw: bool = True, **context: Any) -> SafeString:
    """The readable trace as HTML; ``raw`` adds the stored JSON in a collapsed block."""
    return render_to_string(
        TEMPLATE,
        {
            "trace": trace_readable(trace),
            "raw": json.dumps(trace, indent=2, ensure_ascii=False, default=str) if raw else "",
            **context,
        },
    )
