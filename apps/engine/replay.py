"""Replaying past leads through a configuration: pure, deterministic, nothing written.

A :class:`Replay` is given a configuration snapshot (a draft), the reps' state when the window
opens and how it changed during it (active, away, open leads that closed), then fed the window's
leads in creation order. It decides each one with :func:`decide`, as routing would have at the
lead's own time, carrying rotation cursors, open-lead counts, daily counts and "last assigned"
from one decision to the next. It tallies the outcome against what actually happened
(:attr:`ReplayLead.actual_rep_id`): leads per rep before and after, changed owners with a
sample, unrouted leads by reason, assignments past a rep's capacity, and the Gini coefficient.
"""

from __future__ import annotations

import datetime
import heapq
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .compiler import CompiledConfig, compile_config
from .decide import decide
from .types import ConfigSnapshot, Decision, LeadFacts, RepLoad, RotationState

__all__ = [
    "UNROUTED_REASONS",
    "CapacityBreach",
    "RepStart",
    "RepStatus",
    "Replay",
    "ReplayChange",
    "ReplayLead",
    "ReplayResult",
    "gini",
    "unrouted_reason",
]

#: Why a lead went (or would go) unrouted: code -> words for the report.
UNROUTED_REASONS: dict[str, str] = {
    "no_rule_matched": "no rule matched",
    "no_eligible_rep": "no eligible rep (every matching rule's reps were unavailable or full)",
    "held": "held by a rule whose reps were all unavailable",
    "duplicate_of_unrouted": "duplicate of a lead that has no owner",
    "unrouted": "unrouted (routing found no one)",
    "assigned_by_hand": "never routed automatically; assigned by hand",
    "not_routed_yet": "not routed yet",
}


def gini(values: Iterable[int]) -> float | None:
    """The Gini coefficient of non-negative counts: 0 when all are equal, towards 1 when one
    holds everything; ``sum |xi - xj| / (2 n^2 mean)`` over all ordered pairs. None for no
    values or an all-zero list (no distribution to speak of)."""
    xs = sorted(values)
    n = len(xs)
    total = sum(xs)
    if n == 0 or total == 0:
        return None
    # sum over ordered pairs of |xi - xj| = 2 * sum_i (2i - n + 1) x_i for ascending x
    weighted = sum((2 * i - n + 1) * x for i, x in enumerate(xs))
    return round(2 * weighted / (2 * n * total), 4)


def unrouted_reason(decision: Decision) -> str:
    """The code (see :data:`UNROUTED_REASONS`) of an unrouted decision."""
    if decision.hold:
        return "held"
    if not any(entry.get("matched") for entry in decision.trace.get("rules", [])):
        return "no_rule_matched"
    return "no_eligible_rep"


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplayLead:
    """One lead of the window, with what actually happened to it."""

    lead_id: int
    created_at: datetime.datetime
    facts: LeadFacts
    #: when it stopped counting against its owner (closed), if it did
    closed_at: datetime.datetime | None = None
    #: a duplicate follows this lead's owner and is not routed (nor counted in loads)
    duplicate_of: int | None = None
    #: the rep routing actually gave it first (None: routing never assigned it)
    actual_rep_id: int | None = None
    #: when ``actual_rep_id`` is None, why (a key of :data:`UNROUTED_REASONS`)
    actual_unrouted: str = "unrouted"


@dataclass(frozen=True, slots=True, kw_only=True)
class RepStart:
    """A rep's load when the window opens."""

    rep_id: int
    open_leads: int = 0
    #: assignments earlier on the window's first local day
    leads_today: int = 0
    last_assigned_at: datetime.datetime | None = None
    conversion_rate_90d: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RepStatus:
    """A rep's availability from ``at`` on. ``active`` None: not replayed (the snapshot's holds)."""

    rep_id: int
    at: datetime.datetime
    active: bool | None
    away: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class CapacityBreach:
    """Assignments the replay made past one of a rep's limits (only ``assign_anyway`` does)."""

    rep_id: int
    limit: str  # "max_open_leads" | "max_daily_leads"
    cap: int
    assignments: int
    peak: int
    first_at: datetime.datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplayChange:
    """A lead whose owner would change, with the replay's decision (the sample keeps these)."""

    lead_id: int
    created_at: datetime.datetime
    before_rep_id: int | None
    after_rep_id: int | None
    decision: Decision | None  # None for a duplicate (it follows its original)


@dataclass(slots=True)
class ReplayResult:
    leads: int = 0
    before: Counter[int] = field(default_factory=Counter)
    after: Counter[int] = field(default_factory=Counter)
    changed: int = 0
    sample: list[ReplayChange] = field(default_factory=list)
    unrouted_before: Counter[str] = field(default_factory=Counter)
    unrouted_after: Counter[str] = field(default_factory=Counter)
    assigned_anyway: int = 0
    breaches: list[CapacityBreach] = field(default_factory=list)
    #: compilations of the snapshot (one, plus one per distinct set of reps inactive in the past)
    compilations: int = 0

    def gini(self, rep_ids: Iterable[int]) -> tuple[float | None, float | None]:
        """Gini of leads per rep before and after, over the same reps (zeros count)."""
        ids = list(rep_ids)
        return gini(self.before[r] for r in ids), gini(self.after[r] for r in ids)


_OPEN, _DAY, _STATUS = 0, 1, 2


class Replay:
    """Feed leads in creation order with :meth:`feed`; read the tally with :meth:`result`."""

    def __init__(
        self,
        snapshot: ConfigSnapshot,
        *,
        start: datetime.datetime,
        starts: Mapping[int, RepStart] = {},
        statuses: Sequence[RepStatus] = (),
        releases: Sequence[tuple[datetime.datetime, int]] = (),
        sample_size: int = 20,
    ) -> None:
        """``start``: when the window opens; ``statuses``: each rep's state at the window's start and every change during it;
        ``releases``: (when, rep_id) for open leads held at the start that closed or moved
        during the window. Raises :class:`ConfigError` when the snapshot does not compile."""
        self._snapshot = snapshot
        self._variants: dict[frozenset[tuple[int, bool]], CompiledConfig] = {}
        self._configured = {rep.rep_id: rep.active for rep in snapshot.reps}
        self._result = ReplayResult()
        self._compiled = self._variant(frozenset())
        self._sample_size = sample_size
        self._reps = self._compiled.reps
        self._loads: dict[int, RepLoad] = {}
        self._rotations: dict[int, RotationState] = {}
        self._owners: dict[int, int | None] = {}
        #: rep id -> active as it was, where that differs from the snapshot
        self._overrides: dict[int, bool] = {}
        self._day_end: dict[int, datetime.datetime] = {}
        self._breaches: dict[tuple[int, str], list[Any]] = {}
        self._events: list[tuple[datetime.datetime, int, int, int, Any]] = []
        self._seq = 0
        for rep_id, initial in starts.items():
            self._loads[rep_id] = RepLoad(
                rep_id=rep_id,
                open_leads=initial.open_leads,
                leads_today=initial.leads_today,
                last_assigned_at=initial.last_assigned_at,
                conversion_rate_90d=initial.conversion_rate_90d,
            )
        for status in statuses:
            self._push(status.at, _STATUS, status.rep_id, status)
        for at, rep_id in releases:
            self._push(at, _OPEN, rep_id, None)
        for rep_id, load in self._loads.items():
            # leads_today at the start counts the first local day: it ends at the rep's midnight
            if load.leads_today and rep_id in self._reps:
                self._day_end[rep_id] = self._midnight(rep_id, start)
                self._push(self._day_end[rep_id], _DAY, rep_id, None)

    # --- state ------------------------------------------------------------------------------

    def _variant(self, overrides: frozenset[tuple[int, bool]]) -> CompiledConfig:
        """The snapshot compiled with some reps' ``active`` as it was (cached per override set)."""
        compiled = self._variants.get(overrides)
        if compiled is None:
            snapshot = self._snapshot
            if overrides:
                active = dict(overrides)
                snapshot = replace(
                    snapshot,
                    reps=tuple(
                        replace(r, active=active[r.rep_id]) if r.rep_id in active else r
                        for r in snapshot.reps
                    ),
                )
            compiled = self._variants[overrides] = compile_config(snapshot)
            self._result.compilations += 1
        return compiled

    def _push(self, at: datetime.datetime, kind: int, rep_id: int, payload: Any) -> None:
        self._seq += 1
        heapq.heappush(self._events, (at, self._seq, kind, rep_id, payload))

    def _load(self, rep_id: int) -> RepLoad:
        load = self._loads.get(rep_id)
        return load if load is not None else RepLoad(rep_id=rep_id)

    def _advance(self, now: datetime.datetime) -> None:
        """Apply every event up to ``now``: releases, local midnights, availability changes."""
        events = self._events
        overrides_changed = False
        while events and events[0][0] <= now:
            _at, _seq, kind, rep_id, payload = heapq.heappop(events)
            load = self._load(rep_id)
            if kind == _OPEN:
                self._loads[rep_id] = replace(load, open_leads=max(0, load.open_leads - 1))
            elif kind == _DAY:
                if self._day_end.get(rep_id) == _at:
                    self._loads[rep_id] = replace(load, leads_today=0)
                    del self._day_end[rep_id]
            else:
                status: RepStatus = payload
                if load.away != status.away:
                    self._loads[rep_id] = replace(load, away=status.away)
                configured = self._configured.get(rep_id)
                if status.active is not None and configured is not None:
                    current = self._overrides.get(rep_id, configured)
                    if status.active != current:
                        if status.active == configured:
                            del self._overrides[rep_id]
                        else:
                            self._overrides[rep_id] = status.active
                        overrides_changed = True
        if overrides_changed:
            self._compiled = self._variant(frozenset(self._overrides.items()))

    def _midnight(self, rep_id: int, now: datetime.datetime) -> datetime.datetime:
        """The next local midnight of the rep after ``now``, as an aware UTC instant."""
        tz = self._reps[rep_id].tz
        local = now.astimezone(tz)
        next_day = datetime.datetime.combine(
            local.date() + datetime.timedelta(days=1), datetime.time(0), tzinfo=tz
        )
        return next_day.astimezone(datetime.UTC)

    def _take(self, rep_id: int, lead: ReplayLead) -> None:
        now = lead.created_at
        load = self._load(rep_id)
        load = replace(
            load,
            open_leads=load.open_leads + 1,
            leads_today=load.leads_today + 1,
            last_assigned_at=now,
        )
        self._loads[rep_id] = load
        if rep_id not in self._day_end and rep_id in self._reps:
            self._day_end[rep_id] = self._midnight(rep_id, now)
            self._push(self._day_end[rep_id], _DAY, rep_id, None)
        if lead.closed_at is not None:
            self._push(max(lead.closed_at, now), _OPEN, rep_id, None)
        rep = self._reps.get(rep_id)
        if rep is None:
            return
        for limit, cap, value in (
            ("max_open_leads", rep.max_open, load.open_leads),
            ("max_daily_leads", rep.max_daily, load.leads_today),
        ):
            if cap is not None and value > cap:
                entry = self._breaches.setdefault((rep_id, limit), [cap, 0, value, now])
                entry[1] += 1
                entry[2] = max(entry[2], value)

    # --- feeding ------------------------------------------------------------------------------

    def feed(self, lead: ReplayLead) -> Decision | None:
        """Replay one lead (creation order); the decision, or None for a duplicate."""
        self._advance(lead.created_at)
        result = self._result
        result.leads += 1
        decision: Decision | None = None
        reason = ""
        if lead.duplicate_of is not None:
            # routing keeps a duplicate with its open original's owner, and counts no load
            after = self._owners.get(lead.duplicate_of, lead.actual_rep_id)
            reason = "duplicate_of_unrouted"
        else:
            decision = decide(
                self._compiled,
                lead.facts,
                loads=self._loads,
                rotations=self._rotations,
                now=lead.created_at,
            )
            after = decision.rep_id if decision.outcome == "assigned" else None
            if after is not None:
                if decision.new_rotation is not None:
                    self._rotations[decision.new_rotation.rule_id] = decision.new_rotation
                if decision.forced:
                    result.assigned_anyway += 1
                self._take(after, lead)
            else:
                reason = unrouted_reason(decision)
        self._owners[lead.lead_id] = after
        before = lead.actual_rep_id
        if before is not None:
            result.before[before] += 1
        else:
            result.unrouted_before[lead.actual_unrouted] += 1
        if after is not None:
            result.after[after] += 1
        else:
            result.unrouted_after[reason] += 1
        if before != after:
            result.changed += 1
            if len(result.sample) < self._sample_size:
                result.sample.append(
                    ReplayChange(
                        lead_id=lead.lead_id,
                        created_at=lead.created_at,
                        before_rep_id=before,
                        after_rep_id=after,
                        decision=decision,
                    )
                )
        return decision

    def result(self) -> ReplayResult:
        """The tally so far (capacity breaches ordered by rep, then limit)."""
        self._result.breaches = [
            CapacityBreach(
                rep_id=rep_id, limit=limit, cap=cap, assignments=count, peak=peak, first_at=first
            )
            for (rep_id, limit), (cap, count, peak, first) in sorted(self._breaches.items())
        ]
        return self._result
