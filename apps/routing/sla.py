"""SLA ladder: remind the owner, reassign for inactivity, move leads of unavailable reps, escalate.

The sweep (`sla_sweep`, run every minute by the `reassign_inactive` task and by hand with
`manage.py reassign_inactive --as-of`) never scans the lead table in Python: it pages candidate
ids through the partial index `lead_sla_sweep_idx` (`status='assigned' AND escalated_at IS NULL`,
by `sla_due_at`), then handles each lead in its own short transaction that locks the row with
`SKIP LOCKED` and re-checks the condition under the lock. Two sweeps running at once therefore
never move a lead twice: the second one skips the row the first holds and, once the first commits,
no longer matches it.

Ladder per assignment: a reminder to the owner at `ROUTING_SLA_REMINDER_FRACTION` of the SLA
window (once per assignment), the move at 100% (`reassign_inactivity`, same rule, a rep who has
not held the lead; then the full rules; if no one, escalate), and after
`ROUTING_MAX_REASSIGNMENTS` inactivity moves, escalation: `escalated_at` is set, managers are
notified, and the lead stays with its owner for good (the partial index no longer holds it).

Leads of reps who were deactivated or whose time off has started move too
(`reassign_unavailable`). Those moves do not count towards the inactivity limit: the owner did
not let the lead go cold, they became unavailable. Previous holders are still excluded, so a lead
never ping-pongs between two reps either way.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, time, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from apps.leads.models import Lead, LeadActivity, LeadActivityKind, LeadStatus
from apps.notifications.services import notify_assignment, notify_escalation, notify_sla_reminder
from apps.reps.models import Rep, TimeOff
from apps.routing.engine import Decision, RepProfile
from apps.routing.engine.eligibility import compile_rep
from apps.routing.models import AssignmentKind
from apps.routing.selectors import CurrentConfig, config_current, lead_facts, rep_ids_who_held
from apps.routing.services import assignment_start, decision_confirm_locked

logger = logging.getLogger(__name__)

_DAY_SECONDS = 24 * 3600
#: A business-hours deadline further than this is treated as "never": fall back to wall clock.
_MAX_BUSINESS_DAYS = 366

REASSIGNED = "reassigned"
ESCALATED = "escalated"
REMINDED = "reminded"
DEFERRED = "deferred"
SKIPPED = "skipped"


# --- the SLA clock ------------------------------------------------------------------------


def _profile(config: CurrentConfig, rep_id: int | None) -> RepProfile | None:
    if rep_id is None:
        return None
    return next((rep for rep in config.snapshot.reps if rep.rep_id == rep_id), None)


def sla_deadline(
    *, start: datetime, minutes: int, rep: RepProfile | None, business_hours: bool | None = None
) -> datetime:
    """When `minutes` of SLA time starting at `start` run out.

    Wall clock unless `ROUTING_SLA_BUSINESS_HOURS` (or `business_hours`): then only the rep's
    working hours count (a rep without working hours works any time) and time off pauses it.
    """
    if business_hours is None:
        business_hours = settings.ROUTING_SLA_BUSINESS_HOURS
    wall = start + timedelta(minutes=minutes)
    if not business_hours or rep is None or (not rep.working_hours and not rep.time_off):
        return wall
    tz = ZoneInfo(rep.time_zone)
    compiled = compile_rep(rep, tz)
    off = sorted((p.starts_at, p.ends_at) for p in rep.time_off)
    remaining = timedelta(minutes=minutes)
    local_day = start.astimezone(tz).date()
    for _ in range(_MAX_BUSINESS_DAYS):
        midnight = datetime.combine(local_day, time.min, tzinfo=tz)
        intervals = (
            ((0, _DAY_SECONDS),) if compiled.hours is None else compiled.hours[local_day.weekday()]
        )
        for first, last in intervals:
            span_start = max(midnight + timedelta(seconds=first), start)
            span_end = midnight + timedelta(seconds=last)
            for piece_start, piece_end in _minus_time_off(span_start, span_end, off):
                if piece_end - piece_start >= remaining:
                    return piece_start + remaining
                remaining -= piece_end - piece_start
        local_day += timedelta(days=1)
    return wall


def _minus_time_off(
    start: datetime, end: datetime, off: list[tuple[datetime, datetime]]
) -> Iterator[tuple[datetime, datetime]]:
    cursor = start
    for off_start, off_end in off:
        if off_end <= cursor or off_start >= end:
            continue
        if off_start > cursor:
            yield cursor, off_start
        cursor = max(cursor, off_end)
        if cursor >= end:
            return
    if cursor < end:
        yield cursor, end


def _rule_sla_minutes(config: CurrentConfig, rule_id: int | None) -> int:
    rule = (
        next((r for r in config.snapshot.rules if r.rule_id == rule_id), None) if rule_id else None
    )
    if rule is not None and rule.sla_minutes is not None:
        return int(rule.sla_minutes)
    return int(settings.ROUTING_DEFAULT_SLA_MINUTES)


def _reminder_due(
    *, assigned_at: datetime | None, sla_due_at: datetime | None, now: datetime
) -> bool:
    if assigned_at is None or sla_due_at is None:
        return False
    fraction = settings.ROUTING_SLA_REMINDER_FRACTION
    return assigned_at + (sla_due_at - assigned_at) * fraction <= now


# --- per-lead services --------------------------------------------------------------------


def _locked(lead_id: int, condition: Q) -> Lead | None:
    """The lead, row-locked, if it still matches `condition`; None if not or if another holds it."""
    return Lead.objects.select_for_update(skip_locked=True).filter(condition, pk=lead_id).first()


def _overdue(now: datetime) -> Q:
    return Q(status=LeadStatus.ASSIGNED, escalated_at__isnull=True, sla_due_at__lte=now)


def _escalate_locked(lead: Lead, *, now: datetime, reason: str) -> str:
    lead.escalated_at = now
    lead.save(update_fields=["escalated_at", "updated_at"])
    LeadActivity.objects.create(
        lead=lead,
        kind=LeadActivityKind.ESCALATED,
        at=now,
        note=reason,
        data={"owner": lead.owner_id, "reassignment_count": lead.reassignment_count},
    )
    transaction.on_commit(partial(notify_escalation, lead.pk))
    return ESCALATED


def _without_rule_prefix(decision: Decision) -> str:
    """ "Enterprise West: round robin ..." -> "Enterprise West round robin ..." after our prefix."""
    name = decision.rule_name or ""
    if name and decision.reason.startswith(f"{name}: "):
        return f"{name} {decision.reason[len(name) + 2 :]}"
    return decision.reason


def _move_locked(lead: Lead, *, now: datetime, kind: str, why: str) -> str:
    """Reassign a locked lead by its rule (then the full rules) to a rep who never held it."""
    config = config_current()
    facts = lead_facts(lead)
    held = rep_ids_who_held(lead_id=lead.pk) | ({lead.owner_id} if lead.owner_id else set())
    decision: Decision | None = None
    rep = rotation_row = None
    fallback = False
    if lead.rule_id is not None:
        decision, rep, rotation_row = decision_confirm_locked(
            config=config, facts=facts, now=now, exclude=frozenset(held), only_rule_id=lead.rule_id
        )
    if rep is None or rotation_row is None:
        fallback = lead.rule_id is not None
        decision, rep, rotation_row = decision_confirm_locked(
            config=config, facts=facts, now=now, exclude=frozenset(held)
        )
    if decision is None or rep is None or rotation_row is None or rep.pk in held:
        detail = decision.reason if decision is not None else "no decision"
        return _escalate_locked(
            lead, now=now, reason=f"{why}; no rep who has not held the lead is eligible ({detail})"
        )

    reason = f"{why}: {_without_rule_prefix(decision)}"
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
    assignment = assignment_start(
        lead=lead,
        rep=rep,
        decision=decision,
        kind=kind,
        reason=reason,
        trace=trace,
        now=now,
        config=config,
        actor=None,
    )
    if decision.new_rotation is not None:
        rotation_row.data = dict(decision.new_rotation.data)
        rotation_row.assignments = F("assignments") + 1
        rotation_row.save(update_fields=["data", "assignments", "updated_at"])
    minutes = (
        decision.sla_minutes
        if decision.sla_minutes is not None
        else settings.ROUTING_DEFAULT_SLA_MINUTES
    )
    lead.owner = rep
    lead.rule_id = decision.rule_id
    lead.territory_id = config.territory_ids_by_code.get(decision.territory or "")
    lead.assigned_at = now
    lead.sla_due_at = sla_deadline(start=now, minutes=minutes, rep=_profile(config, rep.pk))
    lead.sla_reminded_at = None
    update_fields = [
        "owner",
        "rule",
        "territory",
        "assigned_at",
        "sla_due_at",
        "sla_reminded_at",
        "updated_at",
    ]
    if kind == AssignmentKind.REASSIGN_INACTIVITY:
        lead.reassignment_count += 1
        update_fields.append("reassignment_count")
    lead.save(update_fields=update_fields)
    LeadActivity.objects.create(
        lead=lead,
        kind=LeadActivityKind.REASSIGNED,
        at=now,
        note=reason,
        data={"from": previous_owner, "to": rep.pk, "kind": kind, "assignment": assignment.pk},
    )
    transaction.on_commit(partial(notify_assignment, assignment.pk))
    return REASSIGNED


def _owner_name(lead: Lead) -> str:
    if lead.owner_id is None:
        return "no one"
    return (
        Rep.objects.filter(pk=lead.owner_id).values_list("user__username", flat=True).first() or "?"
    )


def lead_reassign_inactive(*, lead_id: int, now: datetime) -> str:
    """An overdue, untouched lead: defer (business hours), move it, or escalate it."""
    with transaction.atomic():
        lead = _locked(lead_id, _overdue(now))
        if lead is None:
            return (
                SKIPPED  # contacted, closed, moved or escalated meanwhile, or another sweep has it
            )
        config = config_current()
        minutes = _rule_sla_minutes(config, lead.rule_id)
        if settings.ROUTING_SLA_BUSINESS_HOURS and lead.assigned_at is not None:
            deadline = sla_deadline(
                start=lead.assigned_at, minutes=minutes, rep=_profile(config, lead.owner_id)
            )
            if deadline > now:
                # The wall-clock due time passed, but the owner's working time has not: re-arm.
                lead.sla_due_at = deadline
                lead.save(update_fields=["sla_due_at", "updated_at"])
                return DEFERRED
        why = f"Not contacted within {minutes} min by {_owner_name(lead)}"
        if lead.reassignment_count >= settings.ROUTING_MAX_REASSIGNMENTS:
            return _escalate_locked(
                lead,
                now=now,
                reason=f"{why} after {lead.reassignment_count} reassignment(s): escalated to managers",
            )
        return _move_locked(lead, now=now, kind=AssignmentKind.REASSIGN_INACTIVITY, why=why)


def rep_unavailability(*, rep_id: int, now: datetime) -> str | None:
    """Why a rep cannot keep untouched leads now (deactivated, time off started), or None."""
    rep = Rep.objects.filter(pk=rep_id).values("active").first()
    if rep is None:
        return None
    if not rep["active"]:
        return "deactivated"
    period = (
        TimeOff.objects.filter(rep_id=rep_id, starts_at__lte=now, ends_at__gt=now)
        .order_by("starts_at")
        .first()
    )
    if period is not None:
        text = f"on time off until {period.ends_at:%Y-%m-%d %H:%M} UTC"
        return f"{text}: {period.reason}" if period.reason else text
    return None


def lead_reassign_unavailable(*, lead_id: int, now: datetime) -> str:
    """An untouched lead whose owner was deactivated or went on time off: move it."""
    with transaction.atomic():
        lead = _locked(lead_id, Q(status=LeadStatus.ASSIGNED, escalated_at__isnull=True))
        if lead is None or lead.owner_id is None:
            return SKIPPED
        why_unavailable = rep_unavailability(rep_id=lead.owner_id, now=now)
        if why_unavailable is None:
            return SKIPPED
        why = f"{_owner_name(lead)} is unavailable ({why_unavailable})"
        return _move_locked(lead, now=now, kind=AssignmentKind.REASSIGN_UNAVAILABLE, why=why)


def lead_escalate(*, lead_id: int, now: datetime, reason: str = "") -> str:
    """Escalate an open lead to managers; it stays with its owner and the sweep leaves it alone."""
    with transaction.atomic():
        lead = _locked(
            lead_id,
            Q(status__in=[LeadStatus.ASSIGNED, LeadStatus.CONTACTED], escalated_at__isnull=True),
        )
        if lead is None:
            return SKIPPED
        return _escalate_locked(lead, now=now, reason=reason or "Escalated")


def lead_remind(*, lead_id: int, now: datetime) -> str:
    """Remind the owner once per assignment, at the configured fraction of the SLA window."""
    with transaction.atomic():
        lead = _locked(
            lead_id,
            Q(status=LeadStatus.ASSIGNED, escalated_at__isnull=True, sla_due_at__gt=now)
            & (Q(sla_reminded_at__isnull=True) | Q(sla_reminded_at__lt=F("assigned_at"))),
        )
        if lead is None or not _reminder_due(
            assigned_at=lead.assigned_at, sla_due_at=lead.sla_due_at, now=now
        ):
            return SKIPPED
        lead.sla_reminded_at = now
        lead.save(update_fields=["sla_reminded_at", "updated_at"])
        LeadActivity.objects.create(
            lead=lead,
            kind=LeadActivityKind.REMINDED,
            at=now,
            note=f"Reminder: contact before {lead.sla_due_at:%Y-%m-%d %H:%M} UTC",
            data={"owner": lead.owner_id},
        )
        transaction.on_commit(partial(notify_sla_reminder, lead.pk))
        return REMINDED


# --- the sweep ----------------------------------------------------------------------------


def _pages(queryset: QuerySet[Lead], *, batch_size: int, by_due: bool) -> Iterator[list[int]]:
    """Candidate ids, a page at a time, by keyset (a skipped row never stalls the loop)."""
    last: tuple[datetime, int] | None = None
    while True:
        page = queryset
        if last is not None:
            if by_due:
                page = page.filter(
                    Q(sla_due_at__gt=last[0]) | Q(sla_due_at=last[0], pk__gt=last[1])
                )
            else:
                page = page.filter(pk__gt=last[1])
        order = ("sla_due_at", "pk") if by_due else ("pk",)
        rows = list(page.order_by(*order).values_list("sla_due_at", "pk")[:batch_size])
        if not rows:
            return
        yield [pk for _, pk in rows]
        if len(rows) < batch_size:
            return
        last = rows[-1]


def _unavailable_rep_ids(now: datetime) -> set[int]:
    inactive = set(Rep.objects.filter(active=False).values_list("pk", flat=True))
    away = set(
        TimeOff.objects.filter(starts_at__lte=now, ends_at__gt=now).values_list("rep_id", flat=True)
    )
    return inactive | away


def _reminder_horizon(now: datetime) -> datetime | None:
    """Leads due later than this cannot be at their reminder point yet (wall clock only)."""
    if settings.ROUTING_SLA_BUSINESS_HOURS:
        return None  # windows stretch over nights and weekends: no cheap bound
    config = config_current()
    longest = max(
        [settings.ROUTING_DEFAULT_SLA_MINUTES]
        + [r.sla_minutes for r in config.snapshot.rules if r.sla_minutes is not None]
    )
    return now + timedelta(minutes=longest) * (1 - settings.ROUTING_SLA_REMINDER_FRACTION)


def _run(counts: dict[str, int], service: partial[str], *, moved_as: str = "reassigned") -> None:
    try:
        outcome = service()
    except DatabaseError:
        logger.exception("SLA sweep: %s failed; the next sweep retries it", service.keywords)
        outcome = "errors"
    key = {REASSIGNED: moved_as, SKIPPED: "skipped"}.get(outcome, outcome)
    counts[key] = counts.get(key, 0) + 1


def sla_sweep(*, now: datetime | None = None, batch_size: int = 500) -> dict[str, int]:
    """One pass of the SLA ladder as of `now`; returns counts per outcome."""
    now = now or timezone.now()
    counts = dict.fromkeys(
        (
            "unavailable_moved",
            "reassigned",
            "escalated",
            "deferred",
            "reminded",
            "skipped",
            "errors",
        ),
        0,
    )
    sweepable = Lead.objects.filter(status=LeadStatus.ASSIGNED, escalated_at__isnull=True)

    # 1. Owners who became unavailable: move their untouched leads first (fresh SLA elsewhere).
    unavailable = _unavailable_rep_ids(now)
    if unavailable:
        candidates = sweepable.filter(owner_id__in=unavailable)
        for ids in _pages(candidates, batch_size=batch_size, by_due=False):
            for lead_id in ids:
                _run(
                    counts,
                    partial(lead_reassign_unavailable, lead_id=lead_id, now=now),
                    moved_as="unavailable_moved",
                )

    # 2. Past due and untouched: move or escalate (the partial index lead_sla_sweep_idx).
    for ids in _pages(sweepable.filter(sla_due_at__lte=now), batch_size=batch_size, by_due=True):
        for lead_id in ids:
            _run(counts, partial(lead_reassign_inactive, lead_id=lead_id, now=now))

    # 3. Reminders: not yet due, not reminded in this assignment, past the reminder point.
    reminders = sweepable.filter(sla_due_at__gt=now).filter(
        Q(sla_reminded_at__isnull=True) | Q(sla_reminded_at__lt=F("assigned_at"))
    )
    horizon = _reminder_horizon(now)
    if horizon is not None:
        reminders = reminders.filter(sla_due_at__lte=horizon)
    for ids in _pages(reminders, batch_size=batch_size, by_due=True):
        due = [
            pk
            for pk, assigned_at, sla_due_at in Lead.objects.filter(pk__in=ids).values_list(
                "pk", "assigned_at", "sla_due_at"
            )
            if _reminder_due(assigned_at=assigned_at, sla_due_at=sla_due_at, now=now)
        ]
        for lead_id in sorted(due):
            _run(counts, partial(lead_remind, lead_id=lead_id, now=now))
    return counts


__all__ = [
    "lead_escalate",
    "lead_reassign_inactive",
    "lead_reassign_unavailable",
    "lead_remind",
    "rep_unavailability",
    "sla_deadline",
    "sla_sweep",
]
