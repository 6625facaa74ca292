"""Rendering a routing trace for the person reading it (API.md "Trace redaction").

Managers read a trace as recorded. Anyone else (a rep reading their own lead) sees their own
candidate entry in full and every colleague as generic words per machine code ("not eligible:
time off"), so a rep never learns a colleague's away state, load, capacity, hours or time off.
Traces recorded before candidates carried a code get one derived from their sentence.
"""

from __future__ import annotations

import re
from typing import Any

from apps.engine import Why

__all__ = [
    "GENERIC_WORDS",
    "OUTCOME_LABELS",
    "WHY_LABELS",
    "reason_for_viewer",
    "trace_for_viewer",
    "trace_readable",
]

#: code -> what a non-manager reads about a colleague
GENERIC_WORDS: dict[str, str] = {
    Why.ELIGIBLE: "eligible",
    Why.ALREADY_HELD: "not eligible: already held this lead",
    Why.INACTIVE: "not eligible: inactive",
    Why.AWAY: "not eligible: away",
    Why.TIME_OFF: "not eligible: time off",
    Why.AT_CAPACITY_OPEN: "not eligible: at capacity",
    Why.AT_CAPACITY_DAILY: "not eligible: at capacity",
    Why.OUTSIDE_HOURS: "not eligible: outside working hours",
    Why.MISSING_SKILL: "not eligible: missing skill",
    Why.MISSING_LANGUAGE: "not eligible: language",
    Why.WEIGHT_ZERO: "not eligible",
    Why.ASSIGNED_ANYWAY: "not eligible; assigned anyway",
}

#: code -> the short label a manager reads next to a rep (the sentence adds the details)
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

#: a trace's outcome -> words
OUTCOME_LABELS: dict[str, str] = {
    "assigned": "Assigned",
    "unrouted": "Unrouted",
    "manual": "Reassigned by hand",
    "duplicate": "Kept with the owner of the open duplicate",
}

#: sentence prefix -> code, for traces recorded before codes existed
_LEGACY_PREFIXES = (
    ("already held", Why.ALREADY_HELD),
    ("inactive", Why.INACTIVE),
    ("away", Why.AWAY),
    ("time off", Why.TIME_OFF),
    ("at capacity", Why.AT_CAPACITY_OPEN),
    ("daily cap", Why.AT_CAPACITY_DAILY),
    ("outside hours", Why.OUTSIDE_HOURS),
    ("lacks skill", Why.MISSING_SKILL),
    ("does not speak", Why.MISSING_LANGUAGE),
    ("weight 0", Why.WEIGHT_ZERO),
    ("ineligible; assigned anyway", Why.ASSIGNED_ANYWAY),
)

# An unavailability sentence as recorded before reasons became codes:
# "alice is unavailable (on time off until 2026-05-01 09:00 UTC: <free text>). Rule: ..."
_LEGACY_TIME_OFF = re.compile(r"\(on time off until [0-9-]+ [0-9:]+ UTC(?::.*?)?\)(?=\.|$)", re.S)

# A load-balanced pick names the chosen rep's open leads ("fewest open leads (52) among 4 reps"):
# once the lead has moved on, that is a colleague's load.
_PICKED_LOAD = re.compile(r"fewest open leads \(\d+\)")


def _code_of(candidate: dict[str, Any]) -> str | None:
    code = candidate.get("code")
    if isinstance(code, str):
        return code
    if candidate.get("eligible") is True:
        return Why.ELIGIBLE
    why = candidate.get("why")
    if isinstance(why, str):
        for prefix, legacy in _LEGACY_PREFIXES:
            if why.startswith(prefix):
                return legacy
    return None


def _generic(candidate: dict[str, Any]) -> dict[str, Any]:
    code = _code_of(candidate)
    eligible = bool(candidate.get("eligible"))
    words = GENERIC_WORDS.get(code or "", "eligible" if eligible else "not eligible")
    out = {"rep": candidate.get("rep"), "eligible": eligible, "why": words}
    if code is not None:
        out["code"] = code
    return out


def reason_for_viewer(reason: str, *, full: bool) -> str:
    """A recorded reason sentence; for non-managers without time-off details of old records
    and without the chosen rep's load."""
    if full or not reason:
        return reason
    reason = _LEGACY_TIME_OFF.sub("(on time off)", reason)
    return _PICKED_LOAD.sub("fewest open leads", reason)


def trace_for_viewer(trace: Any, *, full: bool, viewer: str | None = None) -> Any:
    """The trace as ``viewer`` (a username) may read it; ``full`` for managers."""
    if full or not isinstance(trace, dict):
        return trace
    out = dict(trace)
    rules = trace.get("rules")
    if isinstance(rules, list):
        out["rules"] = [_rule_for_viewer(entry, viewer) for entry in rules]
    sweep = trace.get("sweep")
    if isinstance(sweep, dict):
        out["sweep"] = {
            **sweep,
            "why": reason_for_viewer(str(sweep.get("why", "")), full=False),
        }
    if isinstance(trace.get("reason"), str):
        out["reason"] = reason_for_viewer(trace["reason"], full=False)
    return out


def _rule_for_viewer(entry: Any, viewer: str | None) -> Any:
    if not isinstance(entry, dict) or not isinstance(entry.get("candidates"), list):
        return entry
    return {
        **entry,
        "candidates": [
            c
            if isinstance(c, dict) and viewer is not None and c.get("rep") == viewer
            else _generic(c)
            if isinstance(c, dict)
            else c
            for c in entry["candidates"]
        ],
    }


# --- the trace in words ---------------------------------------------------------------------------


def _candidate_row(entry: Any, chosen: str | None, *, redacted: bool) -> dict[str, Any]:
    if not isinstance(entry, dict):
        return {"rep": str(entry), "eligible": False, "code": None, "label": "", "why": ""}
    code = entry.get("code")
    eligible = bool(entry.get("eligible"))
    why = str(entry.get("why") or "")
    if redacted:
        # trace_for_viewer already put the generic words in the sentence: they are the label
        label, why = why or ("eligible" if eligible else "not eligible"), ""
    else:
        label = WHY_LABELS.get(code, "") if isinstance(code, str) else ""
        label = label or ("eligible" if eligible else "not eligible")
    return {
        "rep": entry.get("rep"),
        "eligible": eligible,
        "code": code if isinstance(code, str) else None,
        "label": label,
        # the sentence adds detail (until when, which hours) only when it says more than the label
        "why": "" if why == label else why,
        "chosen": chosen is not None and entry.get("rep") == chosen,
    }


def _rule_row(entry: Any, *, full: bool, viewer: str | None) -> dict[str, Any]:
    if not isinstance(entry, dict):
        return {"name": str(entry), "status": "missed", "detail": "", "candidates": []}
    # "would_choose": a rule after the deciding one, from "evaluate all rules"
    would = entry.get("would_choose")
    chosen = entry.get("chosen") or would
    detail = str(entry.get("detail") or "")
    if entry.get("matched"):
        status = ("would_decide" if would else "decided") if chosen else "matched"
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
        "candidates": [
            _candidate_row(
                c,
                chosen,
                redacted=not full
                and not (isinstance(c, dict) and viewer is not None and c.get("rep") == viewer),
            )
            for c in candidates
        ],
        "omitted": entry.get("omitted") or 0,
    }


def trace_readable(trace: Any, *, full: bool = True, viewer: str | None = None) -> dict[str, Any]:
    """A stored trace as rows a person reads: outcome, reason, one row per rule evaluated (status
    ``decided``, ``matched`` (no one taken), ``missed`` with the failing condition, ``inactive``)
    with its candidates (a short label, the sentence when it says more, chosen or not).

    ``full`` for managers; anyone else (``viewer``: their username) reads redacted words, as
    :func:`trace_for_viewer` gives them. A trace is stored JSON: old records may lack any key, so
    every read has a default. ``evaluated_at`` stays the stored ISO string.
    """
    if not isinstance(trace, dict):
        return {"rules": [], "outcome": "", "outcome_label": "", "reason": "", "empty": True}
    shown = trace_for_viewer(trace, full=full, viewer=viewer)
    outcome = str(shown.get("outcome") or "")
    rules = shown.get("rules") if isinstance(shown.get("rules"), list) else []
    sweep = shown.get("sweep") if isinstance(shown.get("sweep"), dict) else None
    return {
        "evaluated_at": shown.get("evaluated_at"),
        "territory": shown.get("territory"),
        "outcome": outcome,
        "outcome_label": OUTCOME_LABELS.get(outcome, outcome.replace("_", " ").capitalize()),
        "reason": shown.get("reason") or "",
        "rules": [_rule_row(r, full=full, viewer=viewer) for r in rules],
        "sweep": sweep,
        "actor": shown.get("actor"),
        "note": shown.get("note"),
        "duplicate_of": shown.get("duplicate_of"),
        "empty": not rules and not sweep and outcome not in ("manual", "duplicate"),
    }
