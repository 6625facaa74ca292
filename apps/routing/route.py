"""Routing a lead: lock it, plan its assignment with the engine, write it, in one transaction.

`lead_route` locks the lead (and, under a backlog, other waiting leads: a batch), locks the
rotation rows of the rules its leads can reach, decides each lead once with the pure engine on
those locked cursors, locks the picked reps' rows to confirm their capacity
(apps.routing.planning), and writes the Assignments, the leads, the rotation cursors and the
reps' load counters together (apps.routing.writers).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.core.exceptions import StateConflict
from apps.engine import Decision
from apps.leads.models import (
    OPEN_STATUSES,
    WORKING_STATUSES,
    Lead,
    LeadActivity,
    LeadActivityKind,
    LeadStatus,
)
from apps.reps.models import Rep
from apps.routing.locking import lead_lock, leads_lock, waiting_leads_lock
from apps.routing.models import Assignment, AssignmentKind
from apps.routing.outbox import outbox_write
from apps.routing.planning import routes_plan
from apps.routing.selectors import VERSION_UNREAD, CurrentConfig, config_current
from apps.routing.write_assignments import assignment_start, taken_from
from apps.routing.writers import writers_current

__all__ = [
    "RouteResult",
    "RoutingError",
    "lead_reroute",
    "lead_route",
    "leads_reroute",
    "leads_route",
]

logger = logging.getLogger(__name__)


class RoutingError(StateConflict):
    """A routing action that does not fit the lead's state (mapped to HTTP 409)."""


@dataclass(frozen=True)
class RouteResult:
    """What a routing call did: `assigned`, `unrouted`, `duplicate` or `noop`.

    `settled`: every lead the call's transaction locked, the lead's batch included; none of
    them is `new` once that transaction commits (route_lead remembers them: apps.routing.settled).
    """

    lead: Lead
    outcome: str
    assignment: Assignment | None = None
    decision: Decision | None = None
    settled: tuple[int, ...] = ()


def _routes_commit(
    leads: Sequence[Lead],
    *,
    kinds: Sequence[str],
    config: CurrentConfig,
    now: datetime,
    actor: Any,
    reason_prefix: str = "",
) -> list[tuple[Decision, Assignment | None]]:
    """Plan the locked `leads` (apps.routing.planning) and write the plan in one go: each
    lead's decision, with its assignment if it got one."""
    plan = routes_plan(
        leads, kinds=kinds, config=config, now=now, actor=actor, reason_prefix=reason_prefix
    )
    assignments = writers_current().assignments.write(plan.takes, plan.counters)
    written = dict(zip((take.lead.pk for take in plan.takes), assignments, strict=True))
    return [
        (decision, written.get(lead.pk))
        for lead, decision in zip(leads, plan.decisions, strict=True)
    ]


def _may_be_duplicate(lead: Lead) -> bool:
    """False when `lead_lock` found no older open lead with the same email."""
    return getattr(lead, "open_original_id", 0) is not None


def _open_original(lead: Lead) -> Lead | None:
    """The oldest open lead with the same email created before `lead`, locked (dedup)."""
    if not _may_be_duplicate(lead):
        return None
    return (
        Lead.objects.select_for_update()
        .filter(email=lead.email, status__in=OPEN_STATUSES, pk__lt=lead.pk)
        .order_by("pk")
        .first()
    )


def _routable(lead: Lead, *, retry_unrouted: bool) -> bool:
    return lead.status == LeadStatus.NEW or (lead.status == LeadStatus.UNROUTED and retry_unrouted)


def _route_locked(
    leads: Sequence[Lead], *, now: datetime, actor: Any, retry_unrouted: bool
) -> dict[int, RouteResult]:
    """Route the locked `leads` (in id order) in the current transaction, by lead id."""
    results: dict[int, RouteResult] = {}
    routable: list[Lead] = []
    for lead in leads:
        if not _routable(lead, retry_unrouted=retry_unrouted):
            results[lead.pk] = RouteResult(lead=lead, outcome="noop")
            continue
        if lead.status == LeadStatus.NEW and _may_be_duplicate(lead):
            # First, like every writer: the original's lead row before any rule or rep row.
            original = _open_original(lead)
            if original is not None:
                results[lead.pk] = _mark_duplicate(lead, original=original, now=now, actor=actor)
                continue
        routable.append(lead)

    if routable:
        # The version the lead lock read along, if these leads came from it.
        config = config_current(
            version_id=getattr(routable[0], "live_config_version_id", VERSION_UNREAD)
        )
        kinds = [
            AssignmentKind.RETRY if lead.status == LeadStatus.UNROUTED else AssignmentKind.AUTO
            for lead in routable
        ]
        committed = _routes_commit(routable, kinds=kinds, config=config, now=now, actor=actor)
        assigned: list[tuple[int, int, int | None, datetime]] = []
        for lead, (decision, assignment) in zip(routable, committed, strict=True):
            if assignment is None:
                results[lead.pk] = _mark_unrouted(
                    lead, decision=decision, config=config, now=now, actor=actor
                )
                continue
            assigned.append((assignment.pk, lead.pk, None, now))
            results[lead.pk] = RouteResult(
                lead=lead, outcome="assigned", assignment=assignment, decision=decision
            )
        # The batch's notifications, owed in its transaction: one bulk insert.
        outbox_write(assignments=assigned)

    return results


def _mark_unrouted(
    lead: Lead, *, decision: Decision, config: CurrentConfig, now: datetime, actor: Any
) -> RouteResult:
    """No one can take `lead`: it waits `unrouted` (route_pending retries it)."""
    became_unrouted = lead.status != LeadStatus.UNROUTED
    lead.status = LeadStatus.UNROUTED
    lead.territory_id = config.territory_ids_by_code.get(decision.territory or "")
    lead.save(update_fields=["status", "territory", "updated_at"])
    if became_unrouted:
        LeadActivity.objects.create(
            lead=lead,
            kind=LeadActivityKind.UNROUTED,
            at=now,
            actor=actor,
            note=decision.reason,
            data={"trace": decision.trace},
        )
    return RouteResult(lead=lead, outcome="unrouted", decision=decision)


def _mark_duplicate(lead: Lead, *, original: Lead, now: datetime, actor: Any) -> RouteResult:
    """Record `lead` as a duplicate of the open `original`, owned by the original's owner
    (no counter moves: a duplicate is not one more lead to work)."""
    if original.status == LeadStatus.NEW:
        # Route the original first, under the same locks, so the copy follows its owner.
        _route_locked([original], now=now, actor=actor, retry_unrouted=False)
        original.refresh_from_db()
    lead.status = LeadStatus.DUPLICATE
    lead.duplicate_of = original
    lead.owner_id = original.owner_id
    lead.territory_id = original.territory_id
    lead.rule_id = original.rule_id
    assignment = None
    reason = f"Duplicate of open lead #{original.pk} ({original.email})"
    if original.owner_id is not None:
        lead.assigned_at = now
        owner = Rep.objects.select_related("user").get(pk=original.owner_id)
        reason += f": kept with its owner {owner.username}"
        assignment = assignment_start(
            lead=lead,
            rep_id=owner.pk,
            decision=None,
            kind=AssignmentKind.DUPLICATE,
            reason=reason,
            trace={
                "evaluated_at": now.isoformat(),
                "duplicate_of": original.pk,
                "rules": [],
                "outcome": "duplicate",
            },
            now=now,
            config=None,
            actor=actor,
            rule_id=original.rule_id,
        )
    lead.save(
        update_fields=[
            "status",
            "duplicate_of",
            "owner",
            "territory",
            "rule",
            "assigned_at",
            "updated_at",
        ]
    )
    LeadActivity.objects.create(
        lead=lead,
        kind=LeadActivityKind.ASSIGNED,
        at=now,
        actor=actor,
        note=reason,
        data={"duplicate_of": original.pk},
    )
    return RouteResult(lead=lead, outcome="duplicate", assignment=assignment)


def leads_route(*, lead_ids: Sequence[int], now: datetime | None = None) -> dict[int, RouteResult]:
    """Route these `new` leads and retry these `unrouted` ones, together in one transaction
    (`route_pending`: a backlog left by a broker outage drains a batch at a time).

    A lead another transaction holds is skipped (missing from the answer). A possible duplicate
    is routed on its own afterwards, its original locked first as always.
    """
    now = now or timezone.now()
    with transaction.atomic():
        leads = leads_lock(lead_ids)
        alone = [lead.pk for lead in leads if _may_be_duplicate(lead)]
        batch = [lead for lead in leads if not _may_be_duplicate(lead)]
        results = _route_locked(batch, now=now, actor=None, retry_unrouted=True)
    for lead_id in alone:
        results[lead_id] = lead_route(lead_id=lead_id, now=now)
    return results


def lead_route(
    *,
    lead_id: int,
    now: datetime | None = None,
    actor: Any = None,
    retry_unrouted: bool = True,
    batch: int = 1,
) -> RouteResult:
    """Route a `new` (or retry an `unrouted`) lead; a no-op for a lead already routed.

    `batch` > 1 (the Celery task): up to `batch` - 1 other `new` leads, oldest first and none
    another worker holds, are routed in the same transaction. Under a backlog one task then does
    the work of many (the config, loads and rule locks are read once) and the others' own tasks
    find their leads routed; with no backlog nothing waits and the batch is the lead alone.
    """
    now = now or timezone.now()
    if batch > 1:
        try:
            return _lead_route_batch(
                lead_id=lead_id, now=now, actor=actor, retry_unrouted=retry_unrouted, batch=batch
            )
        except Lead.DoesNotExist:
            raise
        except Exception:
            # Another lead of the batch may be the bad one: this lead must not pay for it.
            logger.warning(
                "Routing lead %s with a batch failed; routing it alone", lead_id, exc_info=True
            )
    return _lead_route_batch(
        lead_id=lead_id, now=now, actor=actor, retry_unrouted=retry_unrouted, batch=1
    )


def _lead_route_batch(
    *, lead_id: int, now: datetime, actor: Any, retry_unrouted: bool, batch: int
) -> RouteResult:
    with transaction.atomic():
        lead = lead_lock(lead_id)
        leads = [lead]
        if batch > 1 and lead.status == LeadStatus.NEW and not _may_be_duplicate(lead):
            # A possible duplicate is never taken along: its original must be locked before
            # any rule or rep row (the lock order), which its own task does.
            waiting = waiting_leads_lock(besides=lead_id, limit=batch - 1)
            leads += [each for each in waiting if not _may_be_duplicate(each)]
            leads.sort(key=lambda each: each.pk)
        results = _route_locked(leads, now=now, actor=actor, retry_unrouted=retry_unrouted)
        # Each outcome leaves its lead out of `new` (a `noop` lead was not `new` to begin with).
        return replace(results[lead_id], settled=tuple(results))


def lead_reroute(*, lead_id: int, actor: Any, now: datetime | None = None) -> RouteResult:
    """Run routing again for an open lead (manager action): a fresh decision, not a no-op.

    Moving an assigned lead is recorded as kind `manual` and settles an escalation (as
    `lead_reassign`); an unrouted lead's new assignment is a `retry`.
    """
    now = now or timezone.now()
    with transaction.atomic():
        lead = lead_lock(lead_id)
        if lead.status not in (LeadStatus.ASSIGNED, LeadStatus.UNROUTED, LeadStatus.NEW):
            raise RoutingError(f"A {lead.status} lead cannot be rerouted.")
        if lead.status == LeadStatus.NEW:
            # Never routed: the normal path, duplicate check included.
            result = _route_locked([lead], now=now, actor=actor, retry_unrouted=False)[lead.pk]
            if result.outcome == "unrouted" and result.decision is not None:
                raise RoutingError(f"Rerouting found no eligible rep: {result.decision.reason}")
            return result
        # A manager moving an owned lead is a manual move (as a reassign); an unrouted lead
        # gets routing's retry. Neither is the first automatic assignment.
        kind = AssignmentKind.MANUAL if lead.status == LeadStatus.ASSIGNED else AssignmentKind.RETRY
        previous_owner_id = lead.owner_id if lead.status in WORKING_STATUSES else None
        [(decision, assignment)] = _routes_commit(
            [lead],
            kinds=[kind],
            config=config_current(),
            now=now,
            actor=actor,
            reason_prefix=f"Rerouted by {getattr(actor, 'username', 'system')}: ",
        )
        if assignment is None:
            raise RoutingError(f"Rerouting found no eligible rep: {decision.reason}")
        if lead.escalated_at is not None or lead.reassignment_count:
            # Settles an escalation as a manual reassign does: the SLA ladder starts afresh.
            lead.escalated_at = None
            lead.reassignment_count = 0
            lead.save(update_fields=["escalated_at", "reassignment_count", "updated_at"])
        outbox_write(
            assignments=[(assignment.pk, lead.pk, taken_from(previous_owner_id, assignment), now)]
        )
        return RouteResult(lead=lead, outcome="assigned", assignment=assignment, decision=decision)


def leads_reroute(*, lead_ids: Sequence[int], actor: Any) -> dict[int, RouteResult | str]:
    """Reroute several leads (the managers' bulk action), each in its own transaction, so one
    that still finds no rep leaves the others placed: lead id -> result, or why it failed."""
    outcomes: dict[int, RouteResult | str] = {}
    for lead_id in sorted(set(lead_ids)):
        try:
            outcomes[lead_id] = lead_reroute(lead_id=lead_id, actor=actor)
        except RoutingError as error:
            outcomes[lead_id] = str(error)
        except Lead.DoesNotExist:
            outcomes[lead_id] = "This lead no longer exists."
    return outcomes
