"""The SLA sweep: page every candidate lead through the page services, as of one moment.

The sweep (`sla_sweep`, run every minute by the `reassign_inactive` task and by hand with
`manage.py reassign_inactive --as-of`) never scans the lead table in Python: it pages candidate ids
through the partial index `lead_sla_sweep_idx` (`status='assigned' AND escalated_at IS NULL`, by
`(sla_due_at, id)`) and hands each page to a page service (apps.routing.sla_pages: one
transaction). Two sweeps running at once never move a lead twice: the second one skips the rows
the first holds and, once the first commits, no longer matches them. A page that fails is retried
lead by lead, so one bad lead costs only itself.

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
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import BooleanField, DateTimeField, F, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from apps.engine import ConfigError
from apps.leads.models import Lead, LeadStatus
from apps.reps.models import Rep, TimeOff
from apps.routing.selectors import config_current
from apps.routing.sla_clock import due_by, reminder_due
from apps.routing.sla_decisions import REASSIGNED, SKIPPED
from apps.routing.sla_pages import leads_reassign_inactive, leads_reassign_unavailable, leads_remind

logger = logging.getLogger(__name__)


def _page_after(
    queryset: QuerySet[Lead], last: tuple[datetime | None, int] | None, *, by_due: bool
) -> QuerySet[Lead]:
    """The candidates after `last` (the previous page's final due time and id), in page order.

    By due time the keyset is the row value `(sla_due_at, id)`, which `lead_sla_sweep_idx`
    holds in order: each page reads only its own rows, however many leads share a due time.
    """
    if by_due:
        if last is not None:
            table = connection.ops.quote_name(Lead._meta.db_table)
            due = Lead._meta.get_field("sla_due_at").get_db_prep_value(last[0], connection)
            queryset = queryset.filter(
                RawSQL(
                    f"({table}.sla_due_at, {table}.id) > (%s, %s)",
                    (due, last[1]),
                    output_field=BooleanField(),
                )
            )
        return queryset.order_by("sla_due_at", "pk")
    if last is not None:
        queryset = queryset.filter(pk__gt=last[1])
    return queryset.order_by("pk")


def _pages(
    queryset: QuerySet[Lead], *, batch_size: int, by_due: bool
) -> Iterator[list[tuple[int, datetime | None, datetime | None]]]:
    """Candidate (id, assigned_at, sla_due_at) rows, a page at a time, by keyset (a skipped row
    never stalls the loop)."""
    last: tuple[datetime | None, int] | None = None
    while True:
        rows = list(
            _page_after(queryset, last, by_due=by_due).values_list(
                "pk", "assigned_at", "sla_due_at"
            )[:batch_size]
        )
        if not rows:
            return
        yield rows
        if len(rows) < batch_size:
            return
        last = (rows[-1][2], rows[-1][0])


def _unavailable_rep_ids(now: datetime) -> set[int]:
    inactive = set(Rep.objects.filter(active=False).values_list("pk", flat=True))
    away = set(
        TimeOff.objects.filter(starts_at__lte=now, ends_at__gt=now).values_list("rep_id", flat=True)
    )
    return inactive | away


def _reminder_horizon(now: datetime) -> datetime | None:
    """Leads due later than this cannot be at their reminder point yet (wall clock only)."""
    config = config_current()
    if settings.ROUTING_SLA_BUSINESS_HOURS or any(
        r.sla_business_hours for r in config.snapshot.rules
    ):
        return None  # windows stretch over nights and weekends: no cheap bound
    longest = max(
        [settings.ROUTING_DEFAULT_SLA_MINUTES]
        + [r.sla_minutes for r in config.snapshot.rules if r.sla_minutes is not None]
    )
    return due_by(now) + timedelta(minutes=longest) * (1 - settings.ROUTING_SLA_REMINDER_FRACTION)


def _run_page(
    counts: dict[str, int],
    service: Callable[..., dict[int, str]],
    lead_ids: list[int],
    *,
    now: datetime,
    moved_as: str = "reassigned",
) -> None:
    """Handle one page in one transaction; if it fails, retry its leads one by one so a single
    bad lead costs only itself (the next sweep retries it, counted under `errors`)."""
    try:
        outcomes = service(lead_ids=lead_ids, now=now)
    except Exception:  # any failure: a corrupt row or an engine bug is one lead's problem
        if len(lead_ids) == 1:
            logger.exception("SLA sweep: lead %s failed; the next sweep retries it", lead_ids[0])
            counts["errors"] += 1
            return
        logger.warning("SLA sweep: a page of %s leads failed; retrying lead by lead", len(lead_ids))
        for lead_id in lead_ids:
            _run_page(counts, service, [lead_id], now=now, moved_as=moved_as)
        return
    for lead_id in lead_ids:
        outcome = outcomes.get(lead_id, SKIPPED)
        key = {REASSIGNED: moved_as, SKIPPED: "skipped"}.get(outcome, outcome)
        counts[key] = counts.get(key, 0) + 1


def sla_sweep(*, now: datetime | None = None, batch_size: int | None = None) -> dict[str, int]:
    """One pass of the SLA ladder as of `now`, `batch_size` leads per transaction (default
    ROUTING_SWEEP_PAGE_SIZE); returns counts per outcome."""
    now = now or timezone.now()
    batch_size = batch_size or settings.ROUTING_SWEEP_PAGE_SIZE
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
    try:
        config_current()  # outside any transaction, like route_pending: a failure is recorded
    except ConfigError:
        logger.exception("SLA sweep: no configuration ever compiled; nothing can be moved")
        return counts
    sweepable = Lead.objects.filter(status=LeadStatus.ASSIGNED, escalated_at__isnull=True)

    # 1. Owners who became unavailable: move their untouched leads first (fresh SLA elsewhere).
    unavailable = _unavailable_rep_ids(now)
    if unavailable:
        candidates = sweepable.filter(owner_id__in=unavailable)
        for rows in _pages(candidates, batch_size=batch_size, by_due=False):
            _run_page(
                counts,
                leads_reassign_unavailable,
                [pk for pk, _, _ in rows],
                now=now,
                moved_as="unavailable_moved",
            )

    # 2. Past due and untouched: move or escalate (the partial index lead_sla_sweep_idx).
    _sweep_overdue(counts, sweepable, now=now, batch_size=batch_size)

    # 3. Reminders: not yet due, not reminded in this assignment, past the reminder point.
    reminders = sweepable.filter(sla_due_at__gt=due_by(now)).filter(
        Q(sla_reminded_at__isnull=True) | Q(sla_reminded_at__lt=F("assigned_at"))
    )
    horizon = _reminder_horizon(now)
    if horizon is not None:
        reminders = reminders.filter(sla_due_at__lte=horizon)
    if connection.vendor == "postgresql":
        # Page only leads at their reminder point (a second of slack for the float product);
        # Python decides exactly.
        table = connection.ops.quote_name(Lead._meta.db_table)
        reminders = reminders.alias(
            reminder_at=RawSQL(
                f"{table}.assigned_at + ({table}.sla_due_at - {table}.assigned_at) * %s",
                (settings.ROUTING_SLA_REMINDER_FRACTION,),
                output_field=DateTimeField(),
            )
        ).filter(reminder_at__lte=due_by(now) + timedelta(seconds=1))
    for rows in _pages(reminders, batch_size=batch_size, by_due=True):
        due = sorted(
            pk
            for pk, assigned_at, sla_due_at in rows
            if reminder_due(assigned_at=assigned_at, sla_due_at=sla_due_at, now=now)
        )
        if due:  # only the leads at their reminder point are locked
            _run_page(counts, leads_remind, due, now=now)
    return counts


def _sweep_overdue(
    counts: dict[str, int], sweepable: QuerySet[Lead], *, now: datetime, batch_size: int
) -> None:
    overdue = sweepable.filter(sla_due_at__lte=due_by(now))
    for rows in _pages(overdue, batch_size=batch_size, by_due=True):
        _run_page(counts, leads_reassign_inactive, [pk for pk, _, _ in rows], now=now)


def sla_sweep_overdue(*, now: datetime, batch_size: int | None = None) -> dict[str, int]:
    """Only the ladder's move step (past due and untouched: move or escalate), as of `now`: what
    a deadline timer runs at the moment leads fall due (apps.routing.sla_timers)."""
    counts = {"reassigned": 0, "escalated": 0, "deferred": 0, "skipped": 0, "errors": 0}
    try:
        config_current()
    except ConfigError:
        logger.exception("SLA deadline: no configuration ever compiled; nothing can be moved")
        return counts
    sweepable = Lead.objects.filter(status=LeadStatus.ASSIGNED, escalated_at__isnull=True)
    _sweep_overdue(
        counts, sweepable, now=now, batch_size=batch_size or settings.ROUTING_SWEEP_PAGE_SIZE
    )
    return counts


__all__ = ["sla_sweep", "sla_sweep_overdue"]
