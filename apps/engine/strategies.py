"""Picking one rep from a pool: round robin, smooth weighted round robin, least loaded, performance.

Each picker evaluates eligibility itself so it can stop early (round robin stops at the first
eligible rep after the cursor) and records what it saw in a :class:`CandidateTrace`.
Rotation state per pool: ``{"last": rep_id}`` (round robin) or ``{"cw": {"<rep_id>": int}}``
(smooth weighted round robin, nginx's algorithm, current weights of the pool's reps).
"""

from __future__ import annotations

import datetime
from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .eligibility import CompiledRep, EligibilityContext, Ineligible, Why

__all__ = [
    "PERFORMANCE_FLOOR",
    "PERFORMANCE_SCALE",
    "TRACE_CAP",
    "CandidateTrace",
    "Pick",
    "performance_weights",
    "pick_load_balanced",
    "pick_performance_weighted",
    "pick_round_robin",
    "pick_weighted",
]

#: at most this many candidates per rule are listed in a trace; the rest are counted in "omitted"
TRACE_CAP = 25
#: performance_weighted: nobody's weight drops below this conversion rate, so no one starves
PERFORMANCE_FLOOR = 0.05
#: conversion rates become integer weights (rate x 1000) so rotation state stays exact
PERFORMANCE_SCALE = 1000

WhyNot = Callable[[CompiledRep], "Ineligible | None"]
_WEIGHT_ZERO = Ineligible(Why.WEIGHT_ZERO, "weight 0")


class CandidateTrace:
    """The candidates listed for one rule, capped at :data:`TRACE_CAP`: each
    ``{"rep", "eligible", "why", "code"}`` with ``code`` from :class:`Why`."""

    __slots__ = ("entries", "omitted")

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []
        self.omitted = 0

    @property
    def full(self) -> bool:
        return len(self.entries) >= TRACE_CAP

    def add(self, rep: CompiledRep, eligible: bool, why: str) -> None:
        """An eligible rep, with a sentence on why it ranks where it does."""
        if len(self.entries) < TRACE_CAP:
            self.entries.append(
                {"rep": rep.username, "eligible": eligible, "why": why, "code": Why.ELIGIBLE}
            )
        else:
            self.omitted += 1

    def refuse(self, rep: CompiledRep, why: Ineligible) -> None:
        """An ineligible rep, with the code and sentence of the first reason why not."""
        if len(self.entries) < TRACE_CAP:
            self.entries.append(
                {"rep": rep.username, "eligible": False, "why": why.text, "code": why.code}
            )
        else:
            self.omitted += 1

    def ensure(self, rep: CompiledRep, why: str) -> None:
        """Make sure the chosen rep is listed even when the cap cut it off."""
        if self.omitted and not any(e["rep"] == rep.username for e in self.entries):
            self.entries.append(
                {"rep": rep.username, "eligible": True, "why": why, "code": Why.ELIGIBLE}
            )
            self.omitted -= 1


@dataclass(frozen=True, slots=True)
class Pick:
    """A chosen rep, the pool's new rotation state (None: nothing to persist) and a summary."""

    rep: CompiledRep
    state: dict[str, object] | None
    eligible: int  # eligible reps seen (round robin: reps walked past, see summary)
    summary: str


def pick_round_robin(
    reps: Sequence[CompiledRep],
    ids: Sequence[int],
    state: object,
    skip: set[int],
    why_not: WhyNot,
    trace: CandidateTrace,
) -> Pick | None:
    """Strict rotation in rep_id order, starting after the last assigned rep, skipping the ineligible."""
    last = state.get("last") if isinstance(state, Mapping) else None
    n = len(ids)
    start = bisect_right(ids, last) if isinstance(last, int) else 0
    skipped = 0
    for k in range(n):
        i = start + k
        if i >= n:
            i -= n
        rep = reps[i]
        if rep.rep_id in skip:
            continue
        why = why_not(rep)
        if why is None:
            trace.add(rep, True, "next in rotation")
            summary = f"round robin among {_reps(n)}"
            if skipped:
                summary += f" (skipped {skipped} ineligible)"
            return Pick(rep=rep, state={"last": rep.rep_id}, eligible=1, summary=summary)
        skip.add(rep.rep_id)
        trace.refuse(rep, why)
        skipped += 1
    return None


def pick_weighted(
    reps: Sequence[CompiledRep],
    weights: Sequence[int],
    state: object,
    skip: set[int],
    why_not: WhyNot,
    trace: CandidateTrace,
    *,
    pool_sids: frozenset[str],
    label: str = "weighted round robin",
    describe: Callable[[CompiledRep, int], str] | None = None,
    skipped: int = 0,
) -> Pick | None:
    """Smooth weighted round robin (nginx): every eligible rep gains its weight, the highest
    current weight wins (ties: lowest rep_id) and pays back the total. Over any run of picks with
    a fixed eligible set, each rep's count stays within one of its weight share. ``skipped``:
    ineligible reps the caller already refused (performance_weighted), for the summary."""
    old = state.get("cw") if isinstance(state, Mapping) else None
    cw_old: Mapping[str, object] = old if isinstance(old, Mapping) else {}
    eligible: list[tuple[CompiledRep, int]] = []
    for rep, w in zip(reps, weights, strict=True):
        if rep.rep_id in skip:
            continue
        why = why_not(rep)
        if why is None and w <= 0:
            why = _WEIGHT_ZERO
        if why is not None:
            skip.add(rep.rep_id)
            trace.refuse(rep, why)
            skipped += 1
            continue
        eligible.append((rep, w))
        if not trace.full:
            trace.add(rep, True, describe(rep, w) if describe else f"eligible, weight {w}")
        else:
            trace.omitted += 1
    if not eligible:
        return None
    total = 0
    best: CompiledRep | None = None
    best_cw = 0
    cw: dict[str, int] = {}
    for rep, w in eligible:
        prev = cw_old.get(rep.sid, 0)
        cur = (prev if isinstance(prev, int) else 0) + w
        cw[rep.sid] = cur
        total += w
        if best is None or cur > best_cw:
            best, best_cw = rep, cur
    assert best is not None
    cw[best.sid] = best_cw - total
    # reps of the pool that sat this turn out keep their counters
    for sid, value in cw_old.items():
        if sid not in cw and sid in pool_sids and isinstance(value, int):
            cw[sid] = value
    trace.ensure(best, describe(best, dict(eligible)[best]) if describe else "eligible")
    # like the other strategies, the reason counts the ineligible reps its trace lists
    summary = f"{label} among {_reps(len(eligible), 'eligible ')}"
    if skipped:
        summary += f" (skipped {skipped} ineligible)"
    return Pick(
        rep=best,
        state={"cw": {k: v for k, v in cw.items() if v}},
        eligible=len(eligible),
        summary=summary,
    )


_NEVER = datetime.datetime.min.replace(tzinfo=datetime.UTC)


def pick_load_balanced(
    reps: Sequence[CompiledRep],
    ctx: EligibilityContext,
    skip: set[int],
    why_not: WhyNot,
    trace: CandidateTrace,
) -> Pick | None:
    """Fewest open leads; ties to the rep idle longest (never assigned first), then rep_id.

    One pass in rep_id order; eligibility is only checked for a rep who would beat the best
    eligible rep so far, so every rep ranked ahead of the winner is checked (and listed in the
    trace as ineligible, with why); reps ranked behind it are counted in "omitted".
    """
    loads = ctx.loads
    best: CompiledRep | None = None
    best_open = 0
    best_last = _NEVER
    considered = 0
    skipped = 0
    for rep in reps:
        rid = rep.rep_id
        if rid in skip:
            continue
        considered += 1
        load = loads.get(rid)
        if load is None:
            open_leads, last = 0, _NEVER
        else:
            open_leads = load.open_leads
            if best is not None and open_leads > best_open:
                continue
            last = load.last_assigned_at or _NEVER
        # rep_id order: an equal key never beats the earlier rep
        if best is not None and (
            open_leads > best_open or (open_leads == best_open and last >= best_last)
        ):
            continue
        why = why_not(rep)
        if why is not None:
            skip.add(rid)
            trace.refuse(rep, why)
            skipped += 1
            continue
        if best is not None:
            trace.add(best, True, _load_text(ctx, best) + "; outranked")
        best, best_open, best_last = rep, open_leads, last
    if best is None:
        return None
    trace.add(best, True, _load_text(ctx, best))
    trace.ensure(best, _load_text(ctx, best))
    listed = len(trace.entries) + trace.omitted
    if considered > listed:
        trace.omitted += considered - listed
    summary = f"fewest open leads ({best_open}) among {_reps(considered)}"
    if skipped:
        summary += f" (skipped {skipped} ineligible)"
    return Pick(rep=best, state=None, eligible=1, summary=summary)


def _reps(n: int, kind: str = "") -> str:
    """ "1 rep", "3 eligible reps": the count in a reason, in plain English."""
    return f"{n} {kind}rep{'' if n == 1 else 's'}"


def _load_text(ctx: EligibilityContext, rep: CompiledRep) -> str:
    load = ctx.load(rep)
    last = load.last_assigned_at
    idle = "never assigned" if last is None else f"last assigned {last.isoformat()}"
    return f"eligible, {load.open_leads} open leads, {idle}"


def performance_weights(rates: Sequence[float | None]) -> list[int]:
    """Integer weights from 90-day conversion rates: floor 0.05; an unknown rate counts as the
    median of the known ones (or the floor when none is known)."""
    known = sorted(min(1.0, max(0.0, r)) for r in rates if r is not None)
    if known:
        mid = len(known) // 2
        median = known[mid] if len(known) % 2 else (known[mid - 1] + known[mid]) / 2
    else:
        median = PERFORMANCE_FLOOR
    out = []
    for r in rates:
        rate = median if r is None else min(1.0, max(0.0, r))
        out.append(round(max(PERFORMANCE_FLOOR, rate) * PERFORMANCE_SCALE))
    return out


_PERF_TEXT: dict[tuple[int, bool], str] = {}


def _perf_text(weight: int, unknown: bool) -> str:
    text = _PERF_TEXT.get((weight, unknown))
    if text is None:
        basis = "no conversion history: pool median" if unknown else "conversion rate (floor 5%)"
        text = f"eligible, weight {weight / PERFORMANCE_SCALE:.3f} from {basis}"
        if len(_PERF_TEXT) < 4096:
            _PERF_TEXT[(weight, unknown)] = text
    return text


def pick_performance_weighted(
    reps: Sequence[CompiledRep],
    ctx: EligibilityContext,
    state: object,
    skip: set[int],
    why_not: WhyNot,
    trace: CandidateTrace,
    *,
    pool_sids: frozenset[str],
) -> Pick | None:
    """Smooth weighted round robin with weights from conversion rates (see performance_weights)."""
    # eligibility first so the median is taken over the reps actually competing
    eligible: list[CompiledRep] = []
    skipped = 0
    for rep in reps:
        if rep.rep_id in skip:
            continue
        why = why_not(rep)
        if why is not None:
            skip.add(rep.rep_id)
            trace.refuse(rep, why)
            skipped += 1
            continue
        eligible.append(rep)
    if not eligible:
        return None
    rates = [ctx.load(r).conversion_rate_90d for r in eligible]
    weights = performance_weights(rates)
    unknown = {r.rep_id for r, rate in zip(eligible, rates, strict=True) if rate is None}

    def describe(rep: CompiledRep, w: int) -> str:
        return _perf_text(w, rep.rep_id in unknown)

    return pick_weighted(
        eligible,
        weights,
        state,
        skip,
        lambda rep: None,
        trace,
        pool_sids=pool_sids,
        label="performance weighted",
        describe=describe,
        skipped=skipped,
    )
