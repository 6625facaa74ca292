""" "Evaluate all rules": the decision exactly as :func:`decide` makes it, plus what every rule
after the deciding one would have done. Pure, like decide: nothing here feeds routing.

Routing stops at the first rule that assigns or holds the lead, so its trace never says whether
a later rule would also have matched. A manager testing a lead wants to know (is my new rule
shadowed? which rule is the fallback?), so :func:`explain_all` goes on past the decision and
reports, for each later rule, whether its conditions hold (or the first that fails) and, when
they do, who it would take and why each candidate was or was not eligible, with the same
loads, rotations and moment. The decision itself is :func:`decide`'s, untouched.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .compiler import CompiledConfig, CompiledRule
from .decide import _NO_DATA, _resolve_territory, _run_rule, decide
from .eligibility import EligibilityContext
from .strategies import CandidateTrace
from .types import Decision, LeadFacts, RepLoad, RotationState
from .values import normalise_lead, raw_lead

__all__ = ["Explanation", "explain_all"]

_EMPTY: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Explanation:
    """The decision routing makes and the rules it never reached.

    ``later`` holds one entry per rule after the deciding one, in order, shaped as a trace's
    rule entries (``rule``, ``rule_id``, ``position``, ``matched``, ``detail``, ``candidates``)
    plus ``would_choose`` (the rep it would take, or None). Empty when no rule decided: then
    routing already evaluated every rule and the trace lists them all.
    """

    decision: Decision
    later: tuple[dict[str, Any], ...]


def explain_all(
    compiled: CompiledConfig,
    lead: LeadFacts,
    *,
    loads: Mapping[int, RepLoad],
    rotations: Mapping[int, RotationState],
    now: datetime.datetime,
    exclude_rep_ids: frozenset[int] = frozenset(),
) -> Explanation:
    """:func:`decide` for this lead, then every later rule evaluated as if it were reached."""
    decision = decide(
        compiled,
        lead,
        loads=loads,
        rotations=rotations,
        now=now,
        exclude_rep_ids=exclude_rep_ids,
    )
    if decision.rule_id is None:
        return Explanation(decision=decision, later=())
    rules = compiled.rules
    index = next(i for i, r in enumerate(rules) if r.rule_id == decision.rule_id)
    fields = lead.fields
    territory = _resolve_territory(compiled, fields)
    ancestors = compiled.territories.ancestors.get(territory, _EMPTY) if territory else _EMPTY
    vals = normalise_lead(fields, territory, ancestors)
    raw = raw_lead(fields, territory, vals.get("email_domain"))
    ctx = EligibilityContext(now, loads, exclude_rep_ids)
    later = tuple(
        _evaluate(compiled, rule, vals, raw, territory, ctx, rotations)
        for rule in rules[index + 1 :]
    )
    return Explanation(decision=decision, later=later)


def _evaluate(
    compiled: CompiledConfig,
    rule: CompiledRule,
    vals: Mapping[str, object],
    raw: Mapping[str, object],
    territory: str | None,
    ctx: EligibilityContext,
    rotations: Mapping[int, RotationState],
) -> dict[str, Any]:
    """One rule as decide would have evaluated it had routing reached it."""
    entry: dict[str, Any] = {
        "rule": rule.name,
        "rule_id": rule.rule_id,
        "position": rule.position,
        "matched": False,
        "detail": "inactive",
        "candidates": [],
        "would_choose": None,
    }
    if not rule.active:
        return entry
    failed = rule.first_failure(vals)
    if failed is not None:
        entry["detail"] = failed.failure(raw)
        return entry
    rotation = rotations.get(rule.rule_id)
    data = rotation.data if rotation is not None else _NO_DATA
    trace = CandidateTrace()
    run = _run_rule(compiled, rule, vals, territory, ctx, data, trace)
    entry["matched"] = True
    entry["candidates"] = trace.entries
    entry["pool"] = run.pool.key if run.pool is not None else None
    if trace.omitted:
        entry["omitted"] = trace.omitted
    detail = rule.matched_detail
    if run.pick is not None:
        entry["would_choose"] = run.pick.rep.username
        detail += f"; would assign {run.pick.rep.username} ({run.pick.summary})"
        if run.forced:
            entry["forced"] = True
            detail += ", no one was available, assigned anyway"
    elif run.no_account:
        detail += f"; no account for {run.domain!r}" if run.domain else "; no email domain"
    elif rule.target_kind == "lead" and territory is None:
        detail += "; the lead has no territory"
    else:
        where = ", ".join(run.passed) if run.passed else "an empty pool"
        detail += f"; no eligible rep among {run.seen} in {where}"
        if rule.when_no_one_eligible == "hold":
            detail += "; would hold the lead"
    entry["detail"] = detail
    return entry
