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

__all__ = ["GENERIC_WORDS", "reason_for_viewer", "trace_for_viewer"]

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
