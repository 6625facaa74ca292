"""Routing's plan: which rep takes each lead of a batch, decided by the engine on locked rows.

Nothing here writes a lead, an assignment or a counter: `routes_plan` decides and moves the
locked reps' counters in memory; the assignment writer (apps.routing.writers) stores the plan.
Capacity is the engine's call alone: it decides on loads read under the reps' row locks.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from django.utils import timezone

from apps.engine import (
    ROTATING_STRATEGIES,
    Decision,
    Explanation,
    LeadFacts,
    RepLoad,
    RotationState,
    decide,
    explain_all,
    rules_matching,
)
from apps.leads.models import WORKING_STATUSES, Lead, LeadStatus
from apps.routing.counters import RepCounters
from apps.routing.locking import rep_counters_lock, rotations_lock
from apps.routing.selectors import (
    CurrentConfig,
    config_cache_clear,
    config_current,
    lead_facts,
    rep_caps,
    rep_loads,
    rotation_states,
)
from apps.routing.sla_clock import assignment_due

logger = logging.getLogger(__name__)

#: Attempts to commit a decision when a concurrent transaction changed the rep's load.
_MAX_PICK_ATTEMPTS = 5


@dataclass(frozen=True)
class Take:
    """A decided assignment about to be written."""

    lead: Lead
    decision: Decision
    config: CurrentConfig
    kind: str
    reason: str
    now: datetime
    actor: Any

    @property
    def rep_id(self) -> int:
        assert self.decision.rep_id is not None
        return self.decision.rep_id

    @property
    def first(self) -> bool:
        """The lead's first owner (it was never assigned, or waits unrouted)."""
        return self.lead.status in (LeadStatus.NEW, LeadStatus.UNROUTED)

    @property
    def previous_owner_id(self) -> int | None:
        """The rep the lead moves away from (a reroute), if any."""
        return self.lead.owner_id if self.lead.status in WORKING_STATUSES else None

    def lead_values(self) -> dict[str, Any]:
        """The lead's fields once assigned (attribute names)."""
        return {
            "status": LeadStatus.ASSIGNED,
            "owner_id": self.rep_id,
            "rule_id": self.decision.rule_id,
            "territory_id": self.config.territory_ids_by_code.get(self.decision.territory or ""),
            "assigned_at": self.now,
            "sla_due_at": assignment_due(
                config=self.config, decision=self.decision, rep_id=self.rep_id, now=self.now
            ),
        }


@dataclass(frozen=True)
class RoutesPlan:
    """What `routes_plan` decided: a decision per lead (in order), the assignments to write,
    and the locked reps' counters moved by them."""

    config: CurrentConfig
    decisions: list[Decision]
    takes: list[Take]
    counters: dict[int, RepCounters]


def _assigned(decision: Decision) -> bool:
    return (
        decision.outcome == "assigned"
        and decision.rule_id is not None
        and decision.rep_id is not None
    )


def _load_taken(load: RepLoad | None, *, rep_id: int, now: datetime) -> RepLoad:
    """`load` with one more open lead and one more assignment today."""
    if load is None:
        return RepLoad(rep_id=rep_id, open_leads=1, leads_today=1, last_assigned_at=now)
    return replace(
        load,
        open_leads=load.open_leads + 1,
        leads_today=load.leads_today + 1,
        last_assigned_at=now,
    )


def _load_counts(load: RepLoad | None) -> tuple[Any, ...]:
    if load is None:
        return (False, 0, 0, None)
    return (load.away, load.open_leads, load.leads_today, load.last_assigned_at)


@dataclass(frozen=True)
class _Pick:
    """The plan for one lead: a decision, and whether it was confirmed on a locked cursor."""

    decision: Decision
    confirmed: bool


def _picks(
    *,
    config: CurrentConfig,
    facts: Sequence[LeadFacts],
    loads: Mapping[int, RepLoad],
    rotations: dict[int, RotationState],
    now: datetime,
    unavailable: frozenset[int] = frozenset(),
) -> list[_Pick]:
    """Pick a rep for each lead in order: one engine decision per lead on the locked cursors in
    `rotations` and the loads so far, each pick counting against its rep's load and advancing
    its rule's cursor for the leads after it; never a rep in `unavailable` (held by another
    transaction where this one may not wait for it). Writes nothing.

    One decision suffices because every rule a lead of the batch can reach with a cursor was
    locked before planning (`_rotating_rules`): the engine sees the exact cursors and loads.
    A rotating rule it picks without a locked cursor (only one the configuration added since the
    batch's rules were locked) is locked here, out of order so only if free, and the lead
    decided again on it."""
    loads, cursors = dict(loads), dict(rotations)
    picks: list[_Pick] = []
    for fact in facts:
        confirmed = False
        for _ in range(_MAX_PICK_ATTEMPTS):
            decision = decide(
                config.compiled,
                fact,
                loads=loads,
                rotations=cursors,
                now=now,
                exclude_rep_ids=unavailable,
            )
            if not _assigned(decision):
                break
            rule_id = decision.rule_id
            assert rule_id is not None and decision.rep_id is not None
            if decision.strategy in ROTATING_STRATEGIES and rule_id not in cursors:
                # Taken only if free (else the batch is retried); then decided on its cursor.
                locked = rotations_lock([rule_id], nowait=True)
                rotations.update(locked)
                cursors.update(locked)
                if rule_id in cursors:
                    continue
            confirmed = True
            if decision.new_rotation is not None:
                cursors[rule_id] = decision.new_rotation
            loads[decision.rep_id] = _load_taken(
                loads.get(decision.rep_id), rep_id=decision.rep_id, now=now
            )
            break
        picks.append(_Pick(decision=decision, confirmed=confirmed))
    return picks


def _caps_stale(config: CurrentConfig, caps: Mapping[int, tuple[int | None, int | None]]) -> bool:
    """Whether a rep's stored limits differ from those the compiled configuration holds."""
    for rep_id, live in caps.items():
        rep = config.compiled.reps.get(rep_id)
        if rep is not None and (rep.max_open, rep.max_daily) != live:
            return True
    return False


def _rotating_rules(config: CurrentConfig, facts: Sequence[LeadFacts]) -> set[int]:
    """The rules whose rotation rows a batch locks: those with a cursor any of its leads meets."""
    return {
        rule_id
        for fact in facts
        for rule_id in rules_matching(config.compiled, fact, rotating_only=True)
        if rule_id
    }


def routes_plan(
    leads: Sequence[Lead],
    *,
    kinds: Sequence[str],
    config: CurrentConfig,
    now: datetime,
    actor: Any,
    reason_prefix: str = "",
) -> RoutesPlan:
    """Decide for the locked `leads`, in order: the assignments to write and the counters.

    Lock order (apps.routing.locking): lead rows (the caller's), then the rotation rows of the
    rules the batch's leads could use (every active rule with a rotation cursor whose conditions
    one of them meets, `rules_matching`; by rule id), then rep rows. A lead that falls back to a
    later rule needs no further rule lock (that rule is in the set), and two routing transactions
    contend only where their leads can share a rotation: leads of different territories' rules
    route in parallel, while two on one rule queue instead of deadlocking. Rules that keep no
    cursor (load balanced, account owner) take no rule lock: the rep locks decide. The picks come
    from the locked cursors,
    each counting against its rep for the leads after it; then the picked reps' rows are locked
    and read: a rep a concurrent transaction filled up meanwhile means planning again with the
    exact counts, and limits changed since the configuration was compiled mean compiling it
    again. The re-plan keeps the global order: reps above every one already locked are locked
    (waiting) in id order; a rep below one already locked is taken only if no one holds it
    (`SKIP LOCKED`), else left out of the plan; a rule row the recompiled configuration adds is
    taken only if free (`NOWAIT`: otherwise the transaction fails and its caller retries). So no
    wait is ever out of order, and nothing deadlocks. Every take sits on a locked rep the engine
    found room with. A lead no one can take gets no take.
    """
    facts = [lead_facts(lead) for lead in leads]
    rotations = rotations_lock(_rotating_rules(config, facts))
    loads: dict[int, RepLoad] = rep_loads(now=now)
    counters: dict[int, RepCounters] = {}
    # A reroute releases the lead's current owner: that rep's row is locked with the picked
    # ones, in id order, never after them (a manual reassign locks its two reps the same way).
    owners = {lead.owner_id for lead in leads if lead.status in WORKING_STATUSES}
    refreshed = False
    unavailable: set[int] = set()
    while True:
        picks = _picks(
            config=config,
            facts=facts,
            loads=loads,
            rotations=rotations,
            now=now,
            unavailable=frozenset(unavailable),
        )
        picked = {pick.decision.rep_id for pick in picks if pick.confirmed} | owners
        unlocked = sorted(rep for rep in picked if rep is not None and rep not in counters)
        if not unlocked:
            break
        # Rep rows in id order: those above every rep already locked wait their turn; a re-plan's
        # pick below one already locked is taken only if no one holds it (waiting there could
        # deadlock), else it is left out and the batch planned again without it.
        ceiling = max(counters, default=0)
        exact = rep_counters_lock([rep for rep in unlocked if rep > ceiling])
        behind = [rep for rep in unlocked if rep < ceiling]
        missed: set[int] = set()
        if behind:
            free = rep_counters_lock(behind, skip_locked=True)
            missed = set(behind) - free.keys()
            unavailable |= missed
            exact.update(free)
        counters.update(exact)
        stale = bool(missed)
        for rep_id, locked in exact.items():
            before = loads.get(rep_id)
            rate = before.conversion_rate_90d if before is not None else None
            load = locked.load(now, conversion_rate=rate)
            stale = stale or _load_counts(before) != _load_counts(load)
            loads[rep_id] = load
        if not refreshed and _caps_stale(config, rep_caps(rep_ids=unlocked)):
            # A limit changed since the configuration was compiled: compile it again now.
            config_cache_clear()
            refreshed, config = True, config_current()
            # After rep rows: out of the lock order, so only if free (else the batch retries).
            rotations.update(
                rotations_lock(
                    (
                        rule_id
                        for rule_id in _rotating_rules(config, facts)
                        if rule_id not in rotations
                    ),
                    nowait=True,
                )
            )
            stale = True
        if not stale:
            break
        logger.info("A picked rep's load or limits changed concurrently; planning again")

    takes = [
        Take(
            lead=lead,
            decision=pick.decision,
            config=config,
            kind=kind,
            reason=reason_prefix + pick.decision.reason,
            now=now,
            actor=actor,
        )
        for lead, kind, pick in zip(leads, kinds, picks, strict=True)
        if pick.confirmed
    ]
    for take in takes:
        previous = take.previous_owner_id
        if previous is not None and previous in counters:
            counters[previous].release()
        counters[take.rep_id].take(now)
    return RoutesPlan(
        config=config,
        decisions=[pick.decision for pick in picks],
        takes=takes,
        counters=counters,
    )


def routing_simulate(*, facts: LeadFacts, at: datetime | None = None) -> Decision:
    """What routing would do for these lead facts at `at`: same engine, no writes, no rotation."""
    now = at or timezone.now()
    config = config_current()
    return decide(
        config.compiled, facts, loads=rep_loads(now=now), rotations=rotation_states(), now=now
    )


def routing_explain(*, facts: LeadFacts, at: datetime | None = None) -> Explanation:
    """:func:`routing_simulate` plus what every rule after the deciding one would have done
    ("evaluate all rules"): the decision is the simulation's, nothing is written."""
    now = at or timezone.now()
    config = config_current()
    return explain_all(
        config.compiled, facts, loads=rep_loads(now=now), rotations=rotation_states(), now=now
    )


__all__ = ["RoutesPlan", "Take", "routes_plan", "routing_explain", "routing_simulate"]
