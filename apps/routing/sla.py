"""SLA ladder: remind the owner, reassign for inactivity, move leads of unavailable reps, escalate.

The sweep (`sla_sweep`, run every minute by the `reassign_inactive` task and by hand with
`manage.py reassign_inactive --as-of`) never scans the lead table in Python: it pages candidate ids
through the partial index `lead_sla_sweep_idx` (`status='assigned' AND escalated_at IS NULL`, by
`(sla_due_at, id)`) and handles each page in one transaction. The page's leads are locked in one
`SELECT ... FOR UPDATE SKIP LOCKED` that re-checks the condition; then, if any lead has to move,
the rotation rows (by rule id) and the rep rows (by id) are locked and read once, every lead is
decided in memory with the pure engine (each move carries the loads and rotation cursors on to the
next lead, so caps and rotation stay exact), and the page is written in one statement on PostgreSQL
(fed by JSON documents; a handful of bulk statements elsewhere). Two sweeps running at once never
move a lead twice: the second one skips the rows the first holds and, once the first commits, no
longer matches them; their rotation and rep locks are taken in the same order, so they queue
instead of deadlocking. A page that fails is retried lead by lead, so one bad lead costs only
itself. The notifications a page owes are outbox rows written in its transaction (one insert).

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

import json
import logging
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import BooleanField, DateTimeField, F, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.template.defaultfilters import pluralize
from django.utils import timezone

from apps.engine import ConfigError, Decision, RepLoad, RepProfile, RotationState, decide
from apps.engine.eligibility import compile_rep
from apps.leads.models import Lead, LeadActivity, LeadActivityKind, LeadStatus
from apps.reps.models import Rep, TimeOff
from apps.routing import services as routing_services
from apps.routing.models import Assignment, AssignmentKind
from apps.routing.models import RotationState as RotationStateRow
from apps.routing.outbox import outbox_write
from apps.routing.selectors import (
    LEAD_FACT_FIELDS,
    CurrentConfig,
    config_current,
    lead_facts,
    rep_loads,
)
from apps.routing.services import ROTATION_CURSORS_CTE, rep_counters_release
from apps.rules.models import RoutingRule

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


def rule_sla_business_hours(config: CurrentConfig, rule_id: int | None) -> bool:
    """The rule's own choice to count working hours only, else ROUTING_SLA_BUSINESS_HOURS."""
    for rule in config.snapshot.rules:
        if rule.rule_id == rule_id and rule.sla_business_hours is not None:
            return rule.sla_business_hours
    return bool(settings.ROUTING_SLA_BUSINESS_HOURS)


def _rule_sla_minutes(config: CurrentConfig, rule_id: int | None) -> int:
    rule = (
        next((r for r in config.snapshot.rules if r.rule_id == rule_id), None) if rule_id else None
    )
    if rule is not None and rule.sla_minutes is not None:
        return int(rule.sla_minutes)
    return int(settings.ROUTING_DEFAULT_SLA_MINUTES)


#: Beat starts the sweep on the minute, give or take milliseconds, and a lead the previous sweep
#: moved falls due exactly one SLA window after that sweep: a hair after the tick that should
#: catch it. Deadlines this close count as reached, so such a lead does not wait a whole extra
#: minute (and get its reminder at its deadline); nothing is moved or reminded more than this early.
SWEEP_CLOCK_TOLERANCE = timedelta(seconds=1)


def _due_by(now: datetime) -> datetime:
    """Deadlines up to this moment count as reached by a sweep as of `now`."""
    return now + SWEEP_CLOCK_TOLERANCE


def _reminder_due(
    *, assigned_at: datetime | None, sla_due_at: datetime | None, now: datetime
) -> bool:
    if assigned_at is None or sla_due_at is None:
        return False
    fraction = settings.ROUTING_SLA_REMINDER_FRACTION
    return assigned_at + (sla_due_at - assigned_at) * fraction <= _due_by(now)


# --- one page of leads, one transaction ---------------------------------------------------


@dataclass
class _RepCounters:
    """A rep's load counters as read under the row lock, moved in memory as the page assigns."""

    time_zone: str
    active: bool
    open_leads: int
    assigned_today: int
    assigned_today_date: date | None
    last_assigned_at: datetime | None
    changed: bool = False


@dataclass
class _Move:
    lead: Lead
    previous_owner_id: int | None
    rep_id: int
    decision: Decision
    kind: str
    reason: str
    trace: dict[str, Any]


@dataclass
class _Page:
    """One page: what it read under its locks, and the writes it collects for one flush."""

    now: datetime
    config: CurrentConfig
    outcomes: dict[int, str] = field(default_factory=dict)
    #: leads whose row is written back (moved, deferred, escalated, reminded)
    changed: dict[int, Lead] = field(default_factory=dict)
    moves: list[_Move] = field(default_factory=list)
    #: LeadActivity rows: (lead id, kind, at, actor id, note, data)
    activities: list[tuple[Any, ...]] = field(default_factory=list)
    escalated: list[int] = field(default_factory=list)
    reminded: list[int] = field(default_factory=list)
    # Routing context, loaded once per page when some lead has to move.
    holders: dict[int, set[int]] = field(default_factory=dict)
    reps: dict[int, _RepCounters] = field(default_factory=dict)
    loads: dict[int, RepLoad] = field(default_factory=dict)
    rotations: dict[int, RotationState] = field(default_factory=dict)
    rotation_uses: Counter[int] = field(default_factory=Counter)
    #: previous owners not among the locked reps (created meanwhile): released with an UPDATE
    stray_releases: list[int] = field(default_factory=list)
    _profiles: dict[int, RepProfile] | None = None

    def profile(self, rep_id: int | None) -> RepProfile | None:
        if self._profiles is None:
            self._profiles = {rep.rep_id: rep for rep in self.config.snapshot.reps}
        return self._profiles.get(rep_id) if rep_id is not None else None


#: The lead fields a page writes back (with `updated_at`).
_LEAD_SLA_FIELDS = (
    "owner",
    "rule",
    "territory",
    "assigned_at",
    "sla_due_at",
    "sla_reminded_at",
    "reassignment_count",
    "escalated_at",
)
#: The lead columns a page reads: routing facts and the SLA state it rewrites (no contact, close,
#: or audit timestamps: parsing those was a fifth of a page's Python time).
_PAGE_LEAD_FIELDS = (*LEAD_FACT_FIELDS, "extra", "status", *_LEAD_SLA_FIELDS)


def _lock_page(ids: list[int], condition: Q, *, order: tuple[str, ...]) -> list[Lead]:
    """The page's leads that still match `condition`, row-locked; rows another holds are skipped."""
    return list(
        Lead.objects.select_for_update(skip_locked=True)
        .filter(condition, pk__in=ids)
        .only(*_PAGE_LEAD_FIELDS)
        .order_by(*order)
    )


def _overdue(now: datetime) -> Q:
    return Q(status=LeadStatus.ASSIGNED, escalated_at__isnull=True, sla_due_at__lte=_due_by(now))


def _usernames(page: _Page, rep_ids: set[int]) -> dict[int, str]:
    names = {rep_id: p.username for rep_id in rep_ids if (p := page.profile(rep_id)) is not None}
    missing = rep_ids - names.keys()
    if missing:  # a rep created since the configuration was compiled
        names.update(Rep.objects.filter(pk__in=missing).values_list("pk", "user__username"))
    return names


def _routing_load(page: _Page, lead_ids: list[int]) -> None:
    """Previous holders, then the rotation rows and the rep rows locked in a fixed order.

    Every writer takes lead rows first, then rotation rows (by rule id), then rep rows (by id), so
    two sweeps, or a sweep and `lead_route`, queue behind each other instead of deadlocking. With
    the rep rows locked, the loads read next are exact for the whole page: no re-check needed.
    """
    for lead_id, rep_id in Assignment.objects.filter(lead_id__in=lead_ids).values_list(
        "lead_id", "rep_id"
    ):
        page.holders.setdefault(lead_id, set()).add(rep_id)
    rule_ids = sorted(rule.rule_id for rule in page.config.snapshot.rules if rule.rule_id)
    rows = dict(
        RotationStateRow.objects.select_for_update()
        .filter(rule_id__in=rule_ids)
        .order_by("rule_id")
        .values_list("rule_id", "data")
    )
    missing = [rule_id for rule_id in rule_ids if rule_id not in rows]
    if missing:
        existing = set(RoutingRule.objects.filter(pk__in=missing).values_list("pk", flat=True))
        RotationStateRow.objects.bulk_create(
            [RotationStateRow(rule_id=rule_id) for rule_id in missing if rule_id in existing],
            ignore_conflicts=True,
        )
        rows.update(
            RotationStateRow.objects.select_for_update()
            .filter(rule_id__in=missing)
            .order_by("rule_id")
            .values_list("rule_id", "data")
        )
    page.rotations = {
        rule_id: RotationState(rule_id=rule_id, data=data or {}) for rule_id, data in rows.items()
    }
    for rep_id, tz, active, open_leads, today, today_date, last_at in (
        Rep.objects.select_for_update()
        .order_by("pk")
        .values_list(
            "pk",
            "time_zone",
            "active",
            "open_leads_count",
            "assigned_today",
            "assigned_today_date",
            "last_assigned_at",
        )
    ):
        page.reps[rep_id] = _RepCounters(
            time_zone=tz,
            active=active,
            open_leads=open_leads,
            assigned_today=today,
            assigned_today_date=today_date,
            last_assigned_at=last_at,
        )
    need_rates = any(r.strategy == "performance_weighted" for r in page.config.snapshot.rules)
    page.loads = rep_loads(now=page.now, need_rates=need_rates)


def _release(page: _Page, rep_id: int) -> None:
    """One open lead fewer (as `rep_counters_release`: never below zero)."""
    counters = page.reps.get(rep_id)
    if counters is None:
        page.stray_releases.append(rep_id)
        return
    if counters.open_leads > 0:
        counters.open_leads -= 1
        counters.changed = True
        load = page.loads.get(rep_id)
        if load is not None:
            page.loads[rep_id] = replace(load, open_leads=counters.open_leads)


def _take(page: _Page, rep_id: int) -> None:
    """One more open lead and one more assignment today (as `_rep_counters_take`)."""
    counters = page.reps[rep_id]
    today = page.now.astimezone(ZoneInfo(counters.time_zone)).date()
    counters.assigned_today = (
        counters.assigned_today + 1 if counters.assigned_today_date == today else 1
    )
    counters.assigned_today_date = today
    counters.open_leads += 1
    counters.last_assigned_at = page.now
    counters.changed = True
    load = page.loads.get(rep_id) or RepLoad(rep_id=rep_id)
    page.loads[rep_id] = replace(
        load,
        open_leads=counters.open_leads,
        leads_today=counters.assigned_today,
        last_assigned_at=page.now,
    )


def _escalate(page: _Page, lead: Lead, *, reason: str) -> str:
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


def _assignable(page: _Page, decision: Decision | None) -> bool:
    return (
        decision is not None
        and decision.outcome == "assigned"
        and decision.rule_id is not None
        and decision.rep_id in page.reps
    )


def _move(page: _Page, lead: Lead, *, kind: str, why: str) -> str:
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
        return _escalate(
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
    minutes = (
        decision.sla_minutes
        if decision.sla_minutes is not None
        else settings.ROUTING_DEFAULT_SLA_MINUTES
    )
    lead.owner_id = rep_id
    lead.rule_id = rule_id
    lead.territory_id = page.config.territory_ids_by_code.get(decision.territory or "")
    lead.assigned_at = now
    lead.sla_due_at = sla_deadline(
        start=now,
        minutes=minutes,
        rep=page.profile(rep_id),
        business_hours=rule_sla_business_hours(page.config, rule_id),
    )
    lead.sla_reminded_at = None
    if kind == AssignmentKind.REASSIGN_INACTIVITY:
        lead.reassignment_count += 1
    page.changed[lead.pk] = lead
    page.moves.append(
        _Move(
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


_REP_COUNTER_FIELDS = (
    "open_leads_count",
    "assigned_today",
    "assigned_today_date",
    "last_assigned_at",
)

# The page's writes on PostgreSQL: one data-modifying statement fed by JSON documents (one
# round trip whatever the page size; psycopg sends each document as one text parameter).
# The moved leads' current assignments must be ended before their new ones are inserted (the
# unique index assignment_one_current_per_lead), but data-modifying CTEs run in no set order:
# the insert's WHERE reads a scalar subquery over `ended`, which PostgreSQL evaluates once,
# in full, before the insert's first row.
_PAGE_WRITE_SQL = f"""
WITH move AS (
    SELECT * FROM jsonb_to_recordset(%(moves)s::jsonb) AS m(
        ord int, lead_id bigint, previous_owner_id bigint, rep_id bigint, rule_id bigint,
        rule_name text, strategy text, kind text, reason text, trace jsonb)
), ended AS (
    UPDATE routing_assignment a SET ended_at = %(now)s
    FROM move WHERE a.lead_id = move.lead_id AND a.ended_at IS NULL
    RETURNING a.id
), assignment AS (
    INSERT INTO routing_assignment (lead_id, rep_id, rule_id, rule_name, config_version_id,
                                    strategy, kind, reason, trace, actor_id, assigned_at)
    SELECT lead_id, rep_id, rule_id, rule_name, %(config_version_id)s, strategy, kind, reason,
           trace, NULL, %(now)s
    FROM move
    WHERE (SELECT count(*) FROM ended) >= 0
    ORDER BY ord
    RETURNING id, lead_id
), rep AS (
    UPDATE reps_rep r
    SET open_leads_count = c.open_leads_count, assigned_today = c.assigned_today,
        assigned_today_date = c.assigned_today_date, last_assigned_at = c.last_assigned_at
    FROM jsonb_to_recordset(%(reps)s::jsonb) AS c(id bigint, open_leads_count int,
        assigned_today int, assigned_today_date date, last_assigned_at timestamptz)
    WHERE r.id = c.id
), {ROTATION_CURSORS_CTE}, lead AS (
    UPDATE leads_lead l
    SET owner_id = c.owner_id, rule_id = c.rule_id, territory_id = c.territory_id,
        assigned_at = c.assigned_at, sla_due_at = c.sla_due_at,
        sla_reminded_at = c.sla_reminded_at, reassignment_count = c.reassignment_count,
        escalated_at = c.escalated_at, updated_at = %(touched)s
    FROM jsonb_to_recordset(%(leads)s::jsonb) AS c(id bigint, owner_id bigint, rule_id bigint,
        territory_id bigint, assigned_at timestamptz, sla_due_at timestamptz,
        sla_reminded_at timestamptz, reassignment_count int, escalated_at timestamptz)
    WHERE l.id = c.id
), activity AS (
    INSERT INTO leads_leadactivity (lead_id, kind, at, actor_id, note, data)
    SELECT lead_id, kind, at, NULL, note, data FROM (
        SELECT ord, lead_id, kind, at, note, data
        FROM jsonb_to_recordset(%(activities)s::jsonb) AS a(ord int, lead_id bigint, kind text,
            at timestamptz, note text, data jsonb)
        UNION ALL
        SELECT %(moves_after)s + move.ord, move.lead_id, %(reassigned)s, %(now)s, move.reason,
               jsonb_build_object('from', move.previous_owner_id, 'to', move.rep_id,
                                  'kind', move.kind, 'assignment', assignment.id)
        FROM move JOIN assignment USING (lead_id)
    ) AS written ORDER BY ord
)
SELECT lead_id, id FROM assignment
"""


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _page_write_statement(page: _Page, touched: datetime) -> list[int]:
    """Everything the page decided, in one statement; the new assignments' ids in move order."""
    moves = [
        {
            "ord": ord_,
            "lead_id": move.lead.pk,
            "previous_owner_id": move.previous_owner_id,
            "rep_id": move.rep_id,
            "rule_id": move.decision.rule_id,
            "rule_name": move.decision.rule_name or "",
            "strategy": move.decision.strategy or "",
            "kind": move.kind,
            "reason": move.reason,
            "trace": move.trace,
        }
        for ord_, move in enumerate(page.moves)
    ]
    reps = [
        {
            "id": rep_id,
            "open_leads_count": c.open_leads,
            "assigned_today": c.assigned_today,
            "assigned_today_date": _iso(c.assigned_today_date),
            "last_assigned_at": _iso(c.last_assigned_at),
        }
        for rep_id, c in sorted(page.reps.items())
        if c.changed
    ]
    cursors = [
        {"rule_id": rule_id, "data": page.rotations[rule_id].data, "taken": uses}
        for rule_id, uses in sorted(page.rotation_uses.items())
    ]
    leads = [
        {
            "id": lead.pk,
            "owner_id": lead.owner_id,
            "rule_id": lead.rule_id,
            "territory_id": lead.territory_id,
            "assigned_at": _iso(lead.assigned_at),
            "sla_due_at": _iso(lead.sla_due_at),
            "sla_reminded_at": _iso(lead.sla_reminded_at),
            "reassignment_count": lead.reassignment_count,
            "escalated_at": _iso(lead.escalated_at),
        }
        for lead in page.changed.values()
    ]
    activities = [
        {"ord": ord_, "lead_id": lead_id, "kind": kind, "at": _iso(at), "note": note, "data": data}
        for ord_, (lead_id, kind, at, _actor, note, data) in enumerate(page.activities)
    ]
    params: dict[str, Any] = {
        "moves": json.dumps(moves),
        "reps": json.dumps(reps),
        "cursors": json.dumps(cursors),
        "cursors_at": touched,
        "leads": json.dumps(leads),
        "activities": json.dumps(activities),
        "moves_after": len(activities),
        "reassigned": LeadActivityKind.REASSIGNED,
        "config_version_id": page.config.version_id,
        "now": page.now,
        "touched": touched,
    }
    with connection.cursor() as cursor:
        cursor.execute(_PAGE_WRITE_SQL, params)
        ids = dict(cursor.fetchall())
    return [ids[move.lead.pk] for move in page.moves]


def _current_assignments_end(page: _Page) -> None:
    """End the current assignment of every lead the page moves (the ORM path)."""
    if page.moves:
        Assignment.objects.filter(
            lead_id__in=[move.lead.pk for move in page.moves], ended_at__isnull=True
        ).update(ended_at=page.now)


def _page_write_orm(page: _Page, touched: datetime) -> list[int]:
    """`_page_write_statement` through the ORM (other databases): a handful of bulk statements."""
    now = page.now
    assignment_ids: list[int] = []
    _current_assignments_end(page)
    if page.moves:
        created = Assignment.objects.bulk_create(
            [
                Assignment(
                    lead_id=move.lead.pk,
                    rep_id=move.rep_id,
                    rule_id=move.decision.rule_id,
                    rule_name=move.decision.rule_name or "",
                    config_version_id=page.config.version_id,
                    strategy=move.decision.strategy or "",
                    kind=move.kind,
                    reason=move.reason,
                    trace=move.trace,
                    assigned_at=now,
                )
                for move in page.moves
            ]
        )
        assignment_ids = [assignment.pk for assignment in created]
        Rep.objects.bulk_update(
            [
                Rep(
                    pk=rep_id,
                    open_leads_count=c.open_leads,
                    assigned_today=c.assigned_today,
                    assigned_today_date=c.assigned_today_date,
                    last_assigned_at=c.last_assigned_at,
                )
                for rep_id, c in sorted(page.reps.items())
                if c.changed
            ],
            list(_REP_COUNTER_FIELDS),
        )
        for rule_id, uses in sorted(page.rotation_uses.items()):
            RotationStateRow.objects.filter(rule_id=rule_id).update(
                data=dict(page.rotations[rule_id].data),
                assignments=F("assignments") + uses,
                updated_at=touched,
            )
    for lead in page.changed.values():
        lead.updated_at = touched
    Lead.objects.bulk_update(list(page.changed.values()), [*_LEAD_SLA_FIELDS, "updated_at"])
    activities = [
        LeadActivity(lead_id=lead_id, kind=kind, at=at, actor_id=actor_id, note=note, data=data)
        for lead_id, kind, at, actor_id, note, data in page.activities
    ]
    activities += [
        LeadActivity(
            lead_id=move.lead.pk,
            kind=LeadActivityKind.REASSIGNED,
            at=now,
            note=move.reason,
            data={
                "from": move.previous_owner_id,
                "to": move.rep_id,
                "kind": move.kind,
                "assignment": assignment_id,
            },
        )
        for move, assignment_id in zip(page.moves, assignment_ids, strict=True)
    ]
    LeadActivity.objects.bulk_create(activities)
    return assignment_ids


def _flush(page: _Page) -> None:
    """Write everything the page decided: one statement on PostgreSQL, a handful elsewhere."""
    for rep_id in page.stray_releases:
        rep_counters_release(rep_id=rep_id)
    touched = timezone.now()
    single = routing_services.SINGLE_STATEMENT_WRITES and connection.vendor == "postgresql"
    assignment_ids = (_page_write_statement if single else _page_write_orm)(page, touched)
    for lead in page.changed.values():
        lead.updated_at = touched
    # The page's notifications, owed in its transaction: one bulk insert (a mail and an event
    # per move, reminder and escalation; a "taken away" mail to each previous owner).
    outbox_write(
        assignments=[
            (assignment_id, move.lead.pk, move.previous_owner_id, page.now)
            for move, assignment_id in zip(page.moves, assignment_ids, strict=True)
        ],
        reminded=page.reminded,
        escalated=page.escalated,
        at=page.now,
    )


# --- page services (the sweep's unit of work; a single lead is a page of one) --------------


def leads_reassign_inactive(*, lead_ids: list[int], now: datetime) -> dict[int, str]:
    """Overdue, untouched leads: defer (business hours), move, or escalate each; one transaction.

    Returns the outcome per lead handled; a lead missing from the answer was skipped (contacted,
    closed, moved or escalated meanwhile, or another sweep holds it).
    """
    with transaction.atomic():
        leads = _lock_page(lead_ids, _overdue(now), order=("sla_due_at", "pk"))
        if not leads:
            return {}
        page = _Page(now=now, config=config_current())
        names = _usernames(page, {lead.owner_id for lead in leads if lead.owner_id is not None})
        to_move: list[tuple[Lead, str]] = []
        for lead in leads:
            minutes = _rule_sla_minutes(page.config, lead.rule_id)
            business = rule_sla_business_hours(page.config, lead.rule_id)
            if business and lead.assigned_at is not None:
                deadline = sla_deadline(
                    start=lead.assigned_at,
                    minutes=minutes,
                    rep=page.profile(lead.owner_id),
                    business_hours=True,
                )
                if deadline > _due_by(now):
                    # The wall-clock due time passed, but the owner's working time has not: re-arm.
                    lead.sla_due_at = deadline
                    page.changed[lead.pk] = lead
                    page.outcomes[lead.pk] = DEFERRED
                    continue
            owner_name = "no one" if lead.owner_id is None else names.get(lead.owner_id, "?")
            why = f"Not contacted within {minutes} min by {owner_name}"
            if lead.reassignment_count >= settings.ROUTING_MAX_REASSIGNMENTS:
                page.outcomes[lead.pk] = _escalate(
                    page,
                    lead,
                    reason=f"{why} after {lead.reassignment_count} "
                    f"reassignment{pluralize(lead.reassignment_count)}: "
                    "escalated to managers",
                )
                continue
            to_move.append((lead, why))
        if to_move:
            _routing_load(page, [lead.pk for lead, _ in to_move])
            for lead, why in to_move:
                page.outcomes[lead.pk] = _move(
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
        page = _Page(now=now, config=config_current())
        names = _usernames(page, {lead.owner_id for lead in leads if lead.owner_id is not None})
        _routing_load(page, [lead.pk for lead in leads])
        for lead in leads:
            assert lead.owner_id is not None
            why = f"{names.get(lead.owner_id, '?')} is unavailable ({away[lead.owner_id]})"
            page.outcomes[lead.pk] = _move(
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
        page = _Page(now=now, config=config_current())
        outcome = _escalate(page, leads[0], reason=reason or "Escalated")
        _flush(page)
        return outcome


def _remindable(now: datetime) -> Q:
    return Q(status=LeadStatus.ASSIGNED, escalated_at__isnull=True, sla_due_at__gt=_due_by(now)) & (
        Q(sla_reminded_at__isnull=True) | Q(sla_reminded_at__lt=F("assigned_at"))
    )


def leads_remind(*, lead_ids: list[int], now: datetime) -> dict[int, str]:
    """Remind each owner once per assignment, at the configured fraction of the SLA window."""
    with transaction.atomic():
        leads = [
            lead
            for lead in _lock_page(lead_ids, _remindable(now), order=("pk",))
            if _reminder_due(assigned_at=lead.assigned_at, sla_due_at=lead.sla_due_at, now=now)
        ]
        if not leads:
            return {}
        page = _Page(now=now, config=config_current())
        for lead in leads:
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
            page.outcomes[lead.pk] = REMINDED
        _flush(page)
        return page.outcomes


def lead_remind(*, lead_id: int, now: datetime) -> str:
    """Remind the owner once per assignment, at the configured fraction of the SLA window."""
    return leads_remind(lead_ids=[lead_id], now=now).get(lead_id, SKIPPED)


# --- the sweep ----------------------------------------------------------------------------


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
    return _due_by(now) + timedelta(minutes=longest) * (1 - settings.ROUTING_SLA_REMINDER_FRACTION)


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
    overdue = sweepable.filter(sla_due_at__lte=_due_by(now))
    for rows in _pages(overdue, batch_size=batch_size, by_due=True):
        _run_page(counts, leads_reassign_inactive, [pk for pk, _, _ in rows], now=now)

    # 3. Reminders: not yet due, not reminded in this assignment, past the reminder point.
    reminders = sweepable.filter(sla_due_at__gt=_due_by(now)).filter(
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
        ).filter(reminder_at__lte=_due_by(now) + timedelta(seconds=1))
    for rows in _pages(reminders, batch_size=batch_size, by_due=True):
        due = sorted(
            pk
            for pk, assigned_at, sla_due_at in rows
            if _reminder_due(assigned_at=assigned_at, sla_due_at=sla_due_at, now=now)
        )
        if due:  # only the leads at their reminder point are locked
            _run_page(counts, leads_remind, due, now=now)
    return counts


__all__ = [
    "lead_escalate",
    "lead_reassign_inactive",
    "lead_reassign_unavailable",
    "lead_remind",
    "leads_reassign_inactive",
    "leads_reassign_unavailable",
    "leads_remind",
    "rep_unavailability",
    "sla_deadline",
    "sla_sweep",
]
