"""The sweep's decisions, in memory: what a page of locked leads becomes.

A `Page` holds what the page read under its locks (the reps' counters, the loads, the rotation
cursors, who held each lead) and collects the writes it decides: moves, escalations, reminders,
deferrals and their activities. Nothing here reads or writes the database; the page writer
(apps.routing.writers) stores a page in one go, and apps.routing.sla_pages runs the pages.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from apps.engine import Decision, RepLoad, RepProfile, RotationState, decide
from apps.leads.models import Lead, LeadActivityKind
from apps.routing.counters import RepCounters
from apps.routing.models import AssignmentKind
from apps.routing.selectors import CurrentConfig, lead_facts
from apps.routing.sla_clock import assignment_due

REASSIGNED = "reassigned"
ESCALATED = "escalated"
REMINDED = "reminded"
DEFERRED = "deferred"
SKIPPED = "skipped"


@dataclass
class Move:
    """A lead the page moves to another rep."""

    lead: Lead
    previous_owner_id: int | None
    rep_id: int
    decision: Decision
    kind: str
    reason: str
    trace: dict[str, Any]


@dataclass
class Page:
    """One page: what it read under its locks, and the writes it collects for one flush."""

    now: datetime
    config: CurrentConfig
    outcomes: dict[int, str] = field(default_factory=dict)
    #: leads whose row is written back (moved, deferred, escalated, reminded)
    changed: dict[int, Lead] = field(default_factory=dict)
    moves: list[Move] = field(default_factory=list)
    #: LeadActivity rows: (lead id, kind, at, actor id, note, data)
    activities: list[tuple[Any, ...]] = field(default_factory=list)
    escalated: list[int] = field(default_factory=list)
    reminded: list[int] = field(default_factory=list)
    # Routing context, loaded once per page when some lead has to move.
    holders: dict[int, set[int]] = field(default_factory=dict)
    reps: dict[int, RepCounters] = field(default_factory=dict)
    loads: dict[int, RepLoad] = field(default_factory=dict)
    rotations: dict[int, RotationState] = field(default_factory=dict)
    rotation_uses: Counter[int] = field(default_factory=Counter)
    #: previous owners not among the locked reps (created meanwhile): released on their own
    stray_releases: list[int] = field(default_factory=list)
    _profiles: dict[int, RepProfile] | None = None

    def profiles(self) -> dict[int, RepProfile]:
        if self._profiles is None:
            self._profiles = {rep.rep_id: rep for rep in self.config.snapshot.reps}
        return self._profiles

    def profile(self, rep_id: int | None) -> RepProfile | None:
        return self.profiles().get(rep_id) if rep_id is not None else None


def _release(page: Page, rep_id: int) -> None:
    """One open lead fewer for `rep_id`, in the page's counters and loads."""
    counters = page.reps.get(rep_id)
    if counters is None:
        page.stray_releases.append(rep_id)
        return
    counters.release()
    load = page.loads.get(rep_id)
    if load is not None:
        page.loads[rep_id] = replace(load, open_leads=counters.open_leads)


def _take(page: Page, rep_id: int) -> None:
    """One more open lead and one more assignment today for `rep_id`, counters and loads."""
    counters = page.reps[rep_id]
    counters.take(page.now)
    load = page.loads.get(rep_id) or RepLoad(rep_id=rep_id)
    page.loads[rep_id] = replace(
        load,
        open_leads=counters.open_leads,
        leads_today=counters.assigned_today,
        last_assigned_at=page.now,
    )


def escalate(page: Page, lead: Lead, *, reason: str) -> str:
    """Escalate a locked lead: it stays with its owner, managers hear of it."""
    lead.escalated_at = page.now
    page.changed[lead.pk] = lead
    page.activities.append(
        (
            lead.pk,
            LeadActivityKind.ESCALATED,
            page.now,
            None,
            reason,
            {"owner": lead.owner_id, "reassignment_count": lead.reassignment_count},
        )
    )
    page.escalated.append(lead.pk)
    return ESCALATED


def defer(page: Page, lead: Lead, *, due: datetime) -> str:
    """Re-arm a locked lead whose owner's working time has not run out yet."""
    lead.sla_due_at = due
    page.changed[lead.pk] = lead
    return DEFERRED


def remind(page: Page, lead: Lead) -> str:
    """Remind the owner of a locked lead (once per assignment)."""
    now = page.now
    lead.sla_reminded_at = now
    page.changed[lead.pk] = lead
    page.activities.append(
        (
            lead.pk,
            LeadActivityKind.REMINDED,
            now,
            None,
            f"Reminder: contact before {lead.sla_due_at:%Y-%m-%d %H:%M} UTC",
            {"owner": lead.owner_id},
        )
    )
    page.reminded.append(lead.pk)
    return REMINDED


def _assignable(page: Page, decision: Decision | None) -> bool:
    return (
        decision is not None
        and decision.outcome == "assigned"
        and decision.rule_id is not None
        and decision.rep_id in page.reps
    )


def move(page: Page, lead: Lead, *, kind: str, why: str) -> str:
    """Reassign a locked lead by its rule (then the full rules) to a rep who never held it.

    Decided in memory against the page's locked loads and rotation cursors, which then carry
    this move forward to the next lead of the page.
    """
    now = page.now
    compiled = page.config.compiled
    facts = lead_facts(lead)
    held = page.holders.get(lead.pk, set()) | ({lead.owner_id} if lead.owner_id else set())
    exclude = frozenset(held)
    decision: Decision | None = None
    fallback = False
    if lead.rule_id is not None:
        decision = decide(
            compiled,
            facts,
            loads=page.loads,
            rotations=page.rotations,
            now=now,
            exclude_rep_ids=exclude,
            only_rule_id=lead.rule_id,
        )
    if not _assignable(page, decision):
        fallback = lead.rule_id is not None
        decision = decide(
            compiled,
            facts,
            loads=page.loads,
            rotations=page.rotations,
            now=now,
            exclude_rep_ids=exclude,
        )
    assert decision is not None
    if not _assignable(page, decision) or decision.rep_id in held:
        return escalate(
            page,
            lead,
            reason=f"{why}; no rep who has not held the lead is eligible ({decision.reason})",
        )
    rep_id = decision.rep_id
    rule_id = decision.rule_id
    assert rep_id is not None and rule_id is not None

    reason = f"{why}. {decision.reason}"
    if fallback:
        reason += " (no one else eligible under the original rule; full rules applied)"
    trace = {
        **decision.trace,
        "sweep": {
            "kind": kind,
            "why": why,
            "excluded_rep_ids": sorted(held),
            "fallback_to_all_rules": fallback,
        },
    }
    previous_owner = lead.owner_id
    if previous_owner is not None:
        _release(page, previous_owner)
    _take(page, rep_id)
    if decision.new_rotation is not None:
        page.rotations[rule_id] = decision.new_rotation
        page.rotation_uses[rule_id] += 1
    lead.owner_id = rep_id
    lead.rule_id = rule_id
    lead.territory_id = page.config.territory_ids_by_code.get(decision.territory or "")
    lead.assigned_at = now
    lead.sla_due_at = assignment_due(
        config=page.config, decision=decision, rep_id=rep_id, now=now, profiles=page.profiles()
    )
    lead.sla_reminded_at = None
    if kind == AssignmentKind.REASSIGN_INACTIVITY:
        lead.reassignment_count += 1
    page.changed[lead.pk] = lead
    page.moves.append(
        Move(
            lead=lead,
            previous_owner_id=previous_owner,
            rep_id=rep_id,
            decision=decision,
            kind=kind,
            reason=reason,
            trace=trace,
        )
    )
    return REASSIGNED


__all__ = [
    "DEFERRED",
    "ESCALATED",
    "REASSIGNED",
    "REMINDED",
    "SKIPPED",
    "Move",
    "Page",
    "defer",
    "escalate",
    "move",
    "remind",
]
