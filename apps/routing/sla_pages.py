"""The sweep's unit of work: one page of leads, one transaction (a single lead is a page of one).

Each page service locks its leads (`SELECT ... FOR UPDATE SKIP LOCKED`, re-checking the
condition), decides them in memory (apps.routing.sla_decisions) under one set of rotation and
rep locks taken in the global order (apps.routing.locking), covering only the rows its moves can
touch (`_routing_load`), writes them with the page writer (apps.routing.writers) and owes its
notifications as outbox rows in the same transaction.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.template.defaultfilters import pluralize
from django.utils import timezone

from apps.engine import reps_reachable, rules_matching
from apps.leads.models import Lead, LeadStatus
from apps.reps.models import Rep, TimeOff
from apps.routing.locking import leads_lock_matching, rep_counters_lock, rotations_lock
from apps.routing.models import Assignment, AssignmentKind
from apps.routing.outbox import outbox_write
from apps.routing.selectors import LEAD_FACT_FIELDS, config_current, lead_facts, rep_loads
from apps.routing.sla_clock import (
    due_by,
    reminder_due,
    rule_sla_business_hours,
    rule_sla_minutes,
    sla_deadline,
)
from apps.routing.sla_decisions import SKIPPED, Page, defer, escalate, move, remind
from apps.routing.write_pages import LEAD_SLA_FIELDS
from apps.routing.writers import rep_counters_release, writers_current

#: The lead columns a page reads: routing facts and the SLA state it rewrites (no contact, close,
#: or audit timestamps: parsing those was a fifth of a page's Python time).
_PAGE_LEAD_FIELDS = (*LEAD_FACT_FIELDS, "extra", "status", *LEAD_SLA_FIELDS)


def _lock_page(ids: list[int], condition: Q, *, order: tuple[str, ...]) -> list[Lead]:
    """The page's leads that still match `condition`, row-locked; rows another holds are skipped."""
    return leads_lock_matching(ids, condition, order=order, fields=_PAGE_LEAD_FIELDS)


def overdue(now: datetime) -> Q:
    """Assigned, not escalated, and at or past the deadline as of `now`."""
    return Q(status=LeadStatus.ASSIGNED, escalated_at__isnull=True, sla_due_at__lte=due_by(now))


def remindable(now: datetime) -> Q:
    """Assigned, not escalated, not yet due, and not reminded in this assignment."""
    return Q(status=LeadStatus.ASSIGNED, escalated_at__isnull=True, sla_due_at__gt=due_by(now)) & (
        Q(sla_reminded_at__isnull=True) | Q(sla_reminded_at__lt=F("assigned_at"))
    )


def _usernames(page: Page, rep_ids: set[int]) -> dict[int, str]:
    names = {rep_id: p.username for rep_id in rep_ids if (p := page.profile(rep_id)) is not None}
    missing = rep_ids - names.keys()
    if missing:  # a rep created since the configuration was compiled
        names.update(Rep.objects.filter(pk__in=missing).values_list("pk", "user__username"))
    return names


def _routing_load(page: Page, leads: list[Lead]) -> None:
    """Previous holders, then only the rows the page's moves can touch, in the global order.

    A move decides by the lead's rule, then by the full rules (apps.routing.sla_decisions), and
    `decide` only ever settles on a rule whose conditions the lead meets and on a rep in that
    rule's pools. So the page locks, after its leads: the rotation rows of the rotating rules
    its leads meet (`rules_matching`, by rule id; load-only rules keep no cursor), then, in one
    statement in rep id order, the rows of every rep those rules could hand a lead to
    (`reps_reachable`) and of the leads' current owners (each move releases one). The rep set is
    known before anyone is picked, so it is locked once, in order: no re-plan, and never a lower
    rep id after a higher one. Routing and other pages on other rules' leads and pools run
    alongside; those on the same rule or reps queue at the first shared row.

    With those rows locked, the loads read next are exact for every rep a move can pick.
    """
    lead_ids = [lead.pk for lead in leads]
    for lead_id, rep_id in Assignment.objects.filter(lead_id__in=lead_ids).values_list(
        "lead_id", "rep_id"
    ):
        page.holders.setdefault(lead_id, set()).add(rep_id)
    compiled = page.config.compiled
    facts = [lead_facts(lead) for lead in leads]
    page.rotations = rotations_lock(
        {
            rule_id
            for fact in facts
            for rule_id in rules_matching(compiled, fact, rotating_only=True)
            if rule_id
        }
    )
    reps = {lead.owner_id for lead in leads if lead.owner_id is not None}
    for fact in facts:
        reps.update(reps_reachable(compiled, fact))
    page.reps = rep_counters_lock(reps)
    need_rates = any(r.strategy == "performance_weighted" for r in page.config.snapshot.rules)
    page.loads = rep_loads(now=page.now, rep_ids=sorted(page.reps), need_rates=need_rates)


def _flush(page: Page) -> None:
    """Write everything the page decided (the page writer), and owe its notifications."""
    for rep_id in page.stray_releases:
        rep_counters_release(rep_id=rep_id)
    touched = timezone.now()
    assignment_ids = writers_current().pages.write(page, touched)
    for lead in page.changed.values():
        lead.updated_at = touched
    # The page's notifications, owed in its transaction: one bulk insert (a mail and an event
    # per move, reminder and escalation; a "taken away" mail to each previous owner).
    outbox_write(
        assignments=[
            (assignment_id, each.lead.pk, each.previous_owner_id, page.now)
            for each, assignment_id in zip(page.moves, assignment_ids, strict=True)
        ],
        reminded=page.reminded,
        escalated=page.escalated,
        at=page.now,
    )


def leads_reassign_inactive(*, lead_ids: list[int], now: datetime) -> dict[int, str]:
    """Overdue, untouched leads: defer (business hours), move, or escalate each; one transaction.

    Returns the outcome per lead handled; a lead missing from the answer was skipped (contacted,
    closed, moved or escalated meanwhile, or another sweep holds it).
    """
    with transaction.atomic():
        leads = _lock_page(lead_ids, overdue(now), order=("sla_due_at", "pk"))
        if not leads:
            return {}
        page = Page(now=now, config=config_current())
        names = _usernames(page, {lead.owner_id for lead in leads if lead.owner_id is not None})
        to_move: list[tuple[Lead, str]] = []
        for lead in leads:
            minutes = rule_sla_minutes(page.config, lead.rule_id)
            business = rule_sla_business_hours(page.config, lead.rule_id)
            if business and lead.assigned_at is not None:
                deadline = sla_deadline(
                    start=lead.assigned_at,
                    minutes=minutes,
                    rep=page.profile(lead.owner_id),
                    business_hours=True,
                )
                if deadline > due_by(now):
                    # The wall-clock due time passed, but the owner's working time has not: re-arm.
                    page.outcomes[lead.pk] = defer(page, lead, due=deadline)
                    continue
            owner_name = "no one" if lead.owner_id is None else names.get(lead.owner_id, "?")
            why = f"Not contacted within {minutes} min by {owner_name}"
            if lead.reassignment_count >= settings.ROUTING_MAX_REASSIGNMENTS:
                page.outcomes[lead.pk] = escalate(
                    page,
                    lead,
                    reason=f"{why} after {lead.reassignment_count} "
                    f"reassignment{pluralize(lead.reassignment_count)}: "
                    "escalated to managers",
                )
                continue
            to_move.append((lead, why))
        if to_move:
            _routing_load(page, [lead for lead, _ in to_move])
            for lead, why in to_move:
                page.outcomes[lead.pk] = move(
                    page, lead, kind=AssignmentKind.REASSIGN_INACTIVITY, why=why
                )
        _flush(page)
        return page.outcomes


def lead_reassign_inactive(*, lead_id: int, now: datetime) -> str:
    """An overdue, untouched lead: defer (business hours), move it, or escalate it."""
    return leads_reassign_inactive(lead_ids=[lead_id], now=now).get(lead_id, SKIPPED)


def _unavailability(rep_ids: set[int], now: datetime) -> dict[int, str]:
    """Why each of these reps cannot keep untouched leads now; reps who can are left out."""
    reasons = {
        rep_id: "deactivated"
        for rep_id in Rep.objects.filter(pk__in=rep_ids, active=False).values_list("pk", flat=True)
    }
    for period in TimeOff.objects.filter(
        rep_id__in=rep_ids - reasons.keys(), starts_at__lte=now, ends_at__gt=now
    ).order_by("starts_at", "pk"):
        # Category only: this sentence reaches the new owner (a colleague) in the assignment's
        # reason and mail, so it carries neither the reason nor the dates of the time off.
        reasons.setdefault(period.rep_id, "on time off")
    return reasons


def rep_unavailability(*, rep_id: int, now: datetime) -> str | None:
    """Why a rep cannot keep untouched leads now (deactivated, time off started), or None."""
    return _unavailability({rep_id}, now).get(rep_id)


def leads_reassign_unavailable(*, lead_ids: list[int], now: datetime) -> dict[int, str]:
    """Untouched leads whose owner was deactivated or went on time off: move them (one transaction)."""
    with transaction.atomic():
        leads = _lock_page(
            lead_ids, Q(status=LeadStatus.ASSIGNED, escalated_at__isnull=True), order=("pk",)
        )
        owners = {lead.owner_id for lead in leads if lead.owner_id is not None}
        away = _unavailability(owners, now) if owners else {}
        leads = [lead for lead in leads if lead.owner_id in away]
        if not leads:
            return {}
        page = Page(now=now, config=config_current())
        names = _usernames(page, {lead.owner_id for lead in leads if lead.owner_id is not None})
        _routing_load(page, leads)
        for lead in leads:
            assert lead.owner_id is not None
            why = f"{names.get(lead.owner_id, '?')} is unavailable ({away[lead.owner_id]})"
            page.outcomes[lead.pk] = move(
                page, lead, kind=AssignmentKind.REASSIGN_UNAVAILABLE, why=why
            )
        _flush(page)
        return page.outcomes


def lead_reassign_unavailable(*, lead_id: int, now: datetime) -> str:
    """An untouched lead whose owner was deactivated or went on time off: move it."""
    return leads_reassign_unavailable(lead_ids=[lead_id], now=now).get(lead_id, SKIPPED)


def lead_escalate(*, lead_id: int, now: datetime, reason: str = "") -> str:
    """Escalate an open lead to managers; it stays with its owner and the sweep leaves it alone."""
    with transaction.atomic():
        leads = _lock_page(
            [lead_id],
            Q(status__in=[LeadStatus.ASSIGNED, LeadStatus.CONTACTED], escalated_at__isnull=True),
            order=("pk",),
        )
        if not leads:
            return SKIPPED
        page = Page(now=now, config=config_current())
        outcome = escalate(page, leads[0], reason=reason or "Escalated")
        _flush(page)
        return outcome


def leads_remind(*, lead_ids: list[int], now: datetime) -> dict[int, str]:
    """Remind each owner once per assignment, at the configured fraction of the SLA window."""
    with transaction.atomic():
        leads = [
            lead
            for lead in _lock_page(lead_ids, remindable(now), order=("pk",))
            if reminder_due(assigned_at=lead.assigned_at, sla_due_at=lead.sla_due_at, now=now)
        ]
        if not leads:
            return {}
        page = Page(now=now, config=config_current())
        for lead in leads:
            page.outcomes[lead.pk] = remind(page, lead)
        _flush(page)
        return page.outcomes


def lead_remind(*, lead_id: int, now: datetime) -> str:
    """Remind the owner once per assignment, at the configured fraction of the SLA window."""
    return leads_remind(lead_ids=[lead_id], now=now).get(lead_id, SKIPPED)


__all__ = [
    "lead_escalate",
    "lead_reassign_inactive",
    "lead_reassign_unavailable",
    "lead_remind",
    "leads_reassign_inactive",
    "leads_reassign_unavailable",
    "leads_remind",
    "overdue",
    "remindable",
    "rep_unavailability",
]
