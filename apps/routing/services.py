"""Write side of routing: every assignment is one transaction with its audit records.

`lead_route` locks the lead (and, under a backlog, other waiting leads: a batch), decides each
with the pure engine outside any rule lock, then locks the winning rules' RotationState rows,
picks from the locked cursors, locks the picked reps' rows to confirm their capacity, and writes
the Assignments, the leads, the rotation cursors and the reps' load counters together.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone

from apps.engine import Decision, LeadFacts, RepLoad, RotationState, decide
from apps.leads.models import (
    OPEN_STATUSES,
    WORKING_STATUSES,
    Lead,
    LeadActivity,
    LeadActivityKind,
    LeadStatus,
)
from apps.notifications.services import outbox_write
from apps.reps.models import Rep
from apps.routing.models import Assignment, AssignmentKind
from apps.routing.models import RotationState as RotationStateRow
from apps.routing.selectors import (
    VERSION_LATEST_SQL,
    VERSION_UNREAD,
    CurrentConfig,
    config_cache_clear,
    config_current,
    config_version_latest,
    lead_facts,
    rep_caps,
    rep_loads,
    rotation_states,
)

logger = logging.getLogger(__name__)

#: Attempts to commit a decision when a concurrent transaction changed the rep's load.
_MAX_PICK_ATTEMPTS = 5
#: Write a first assignment as one statement on PostgreSQL (tests turn it off to check that the
#: ORM path, used on other databases and for every later move, writes the same rows).
SINGLE_STATEMENT_WRITES = True
#: Lead fields an assignment sets (with `updated_at`).
_ASSIGNED_LEAD_FIELDS = ("status", "owner", "rule", "territory", "assigned_at", "sla_due_at")


class RoutingError(Exception):
    """A routing action that does not fit the lead's state (mapped to HTTP 409)."""


@dataclass(frozen=True)
class RouteResult:
    """What a routing call did: `assigned`, `unrouted`, `duplicate` or `noop`."""

    lead: Lead
    outcome: str
    assignment: Assignment | None = None
    decision: Decision | None = None


def sla_due_at(*, now: datetime, sla_minutes: int | None) -> datetime:
    minutes = sla_minutes if sla_minutes is not None else settings.ROUTING_DEFAULT_SLA_MINUTES
    return now + timedelta(minutes=minutes)


def _assignment_due(
    *, config: CurrentConfig, decision: Decision, rep_id: int, now: datetime
) -> datetime:
    """SLA deadline of a new assignment: wall clock, or the rep's working time when the rule
    (or ROUTING_SLA_BUSINESS_HOURS) says so."""
    from apps.routing.sla import rule_sla_business_hours, sla_deadline

    if not rule_sla_business_hours(config, decision.rule_id):
        return sla_due_at(now=now, sla_minutes=decision.sla_minutes)
    minutes = (
        decision.sla_minutes
        if decision.sla_minutes is not None
        else settings.ROUTING_DEFAULT_SLA_MINUTES
    )
    profile = next((r for r in config.snapshot.reps if r.rep_id == rep_id), None)
    return sla_deadline(start=now, minutes=minutes, rep=profile, business_hours=True)


def _rep_counters_take(*, rep: Rep, now: datetime) -> None:
    """Count one more open lead and one more assignment today (in the rep's time zone)."""
    today = now.astimezone(ZoneInfo(rep.time_zone)).date()
    Rep.objects.filter(pk=rep.pk).update(
        open_leads_count=F("open_leads_count") + 1,
        assigned_today=Case(
            When(assigned_today_date=today, then=F("assigned_today") + 1), default=Value(1)
        ),
        assigned_today_date=today,
        last_assigned_at=now,
    )


def rep_counters_release(*, rep_id: int) -> None:
    """One open lead fewer (closed, or moved to someone else)."""
    Rep.objects.filter(pk=rep_id, open_leads_count__gt=0).update(
        open_leads_count=F("open_leads_count") - 1
    )


def _rotations_lock(rule_ids: Iterable[int]) -> dict[int, RotationState]:
    """Lock the rules' rotation rows, in rule order (two transactions never wait on each other
    in a cycle), creating a rule's row on its first assignment; return their cursors."""
    ids = sorted(set(rule_ids))
    if not ids:
        return {}
    table = RotationStateRow._meta.db_table
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    marks = ", ".join(["%s"] * len(ids))
    sql = f"SELECT rule_id, data FROM {table} WHERE rule_id IN ({marks}) ORDER BY rule_id{lock}"
    with connection.cursor() as cursor:
        cursor.execute(sql, ids)
        rows = cursor.fetchall()
        missing = sorted(set(ids) - {row[0] for row in rows})
        if missing:
            RotationStateRow.objects.bulk_create(
                [RotationStateRow(rule_id=rule_id) for rule_id in missing], ignore_conflicts=True
            )
            cursor.execute(sql.replace(marks, ", ".join(["%s"] * len(missing))), missing)
            rows += cursor.fetchall()
    return {
        rule_id: RotationState(
            rule_id=rule_id, data=(json.loads(data) if isinstance(data, str) else data) or {}
        )
        for rule_id, data in rows
    }


def _capacity_problem(rep: Rep, *, now: datetime) -> str | None:
    """Re-check the locked rep row: a concurrent rule may have filled them meanwhile."""
    if rep.max_open_leads is not None and rep.open_leads_count >= rep.max_open_leads:
        return f"at capacity {rep.open_leads_count}/{rep.max_open_leads} open leads"
    if rep.max_daily_leads is not None:
        today = now.astimezone(ZoneInfo(rep.time_zone)).date()
        count = rep.assigned_today if rep.assigned_today_date == today else 0
        if count >= rep.max_daily_leads:
            return f"daily cap reached {count}/{rep.max_daily_leads}"
    return None


def _merge_trace(full: Decision, final: Decision) -> dict[str, Any]:
    """The first pass's rule entries up to the winner, with the winner's entry from the locked pass."""
    earlier = [
        entry for entry in full.trace.get("rules", []) if entry.get("rule") != final.rule_name
    ]
    return {**final.trace, "rules": [*earlier, *final.trace.get("rules", [])]}


@dataclass(frozen=True)
class _Take:
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

    def lead_values(self) -> dict[str, Any]:
        """The lead's fields once assigned (attribute names)."""
        return {
            "status": LeadStatus.ASSIGNED,
            "owner_id": self.rep_id,
            "rule_id": self.decision.rule_id,
            "territory_id": self.config.territory_ids_by_code.get(self.decision.territory or ""),
            "assigned_at": self.now,
            "sla_due_at": _assignment_due(
                config=self.config, decision=self.decision, rep_id=self.rep_id, now=self.now
            ),
        }


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


def _plan(
    *,
    config: CurrentConfig,
    facts: Sequence[LeadFacts],
    first: Sequence[Decision],
    loads: Mapping[int, RepLoad],
    rotations: dict[int, RotationState],
    now: datetime,
) -> list[_Pick]:
    """Pick a rep for each lead in order, from the locked cursors in `rotations` (a rule chosen
    on a second look is locked here and added to it), each pick counting against its rep's load
    and advancing its rule's cursor for the leads after it. Writes nothing."""
    loads, cursors = dict(loads), dict(rotations)
    picks: list[_Pick] = []
    for fact, decision in zip(facts, first, strict=True):
        confirmed = False
        for _ in range(_MAX_PICK_ATTEMPTS):
            if not _assigned(decision):
                break
            rule_id = decision.rule_id
            assert rule_id is not None
            if rule_id not in cursors:
                locked = _rotations_lock([rule_id])
                rotations.update(locked)
                cursors.update(locked)
            pick = decide(
                config.compiled,
                fact,
                loads=loads,
                rotations={rule_id: cursors[rule_id]},
                now=now,
                only_rule_id=rule_id,
            )
            if _assigned(pick):
                assert pick.rep_id is not None
                decision, confirmed = replace(pick, trace=_merge_trace(decision, pick)), True
                if pick.new_rotation is not None:
                    cursors[rule_id] = pick.new_rotation
                loads[pick.rep_id] = _load_taken(
                    loads.get(pick.rep_id), rep_id=pick.rep_id, now=now
                )
                break
            # The rule found no one on the locked cursor (an earlier lead of this batch, or a
            # concurrent transaction, filled its reps): decide again from scratch.
            decision = decide(config.compiled, fact, loads=loads, rotations={}, now=now)
        picks.append(_Pick(decision=decision, confirmed=confirmed))
    return picks


def _caps_stale(config: CurrentConfig, caps: Mapping[int, tuple[int | None, int | None]]) -> bool:
    """Whether a rep's stored limits differ from those the compiled configuration holds."""
    for rep_id, live in caps.items():
        rep = config.compiled.reps.get(rep_id)
        if rep is not None and (rep.max_open, rep.max_daily) != live:
            return True
    return False


def _routes_commit(
    leads: Sequence[Lead],
    *,
    kinds: Sequence[str],
    config: CurrentConfig,
    now: datetime,
    actor: Any,
    reason_prefix: str = "",
) -> list[tuple[Decision, Assignment | None]]:
    """Decide for the locked `leads`, in order, and write their assignments in one go.

    Lock order, the same as the SLA sweep's: lead rows, then every rule's rotation row (by rule
    id), then rep rows. Holding all the rules' rows, two routing transactions (or routing and
    a sweep) queue behind each other instead of deadlocking, and a lead that falls back to a
    later rule needs no further rule lock. The picks come from the locked cursors, each
    counting against its rep for the leads after it; then the picked reps' rows are locked and
    read: a rep a concurrent transaction filled up meanwhile means planning again with the
    exact counts, and limits changed since the configuration was compiled mean compiling it
    again. Nothing is written before every pick sits on a locked rep with room. A lead no one
    can take gets no assignment.
    """
    rotations = _rotations_lock(rule.rule_id for rule in config.snapshot.rules if rule.rule_id)
    facts = [lead_facts(lead) for lead in leads]
    loads: dict[int, RepLoad] = rep_loads(now=now)
    no_rotations: Mapping[int, RotationState] = {}
    first = [
        decide(config.compiled, fact, loads=loads, rotations=no_rotations, now=now)
        for fact in facts
    ]
    locked_reps: set[int] = set()
    # A reroute releases the lead's current owner: that rep's row is locked with the picked
    # ones, in id order, never after them (a manual reassign locks its two reps the same way).
    owners = {lead.owner_id for lead in leads if lead.status in WORKING_STATUSES}
    refreshed = False
    while True:
        picks = _plan(
            config=config, facts=facts, first=first, loads=loads, rotations=rotations, now=now
        )
        picked = {pick.decision.rep_id for pick in picks if pick.confirmed} | owners
        unlocked = sorted(rep for rep in picked if rep is not None and rep not in locked_reps)
        if not unlocked:
            break
        locked_reps.update(unlocked)
        exact = rep_loads(now=now, rep_ids=unlocked, need_rates=False, lock=True)
        stale = False
        for rep_id, load in exact.items():
            before = loads.get(rep_id)
            stale = stale or _load_counts(before) != _load_counts(load)
            rate = before.conversion_rate_90d if before is not None else None
            loads[rep_id] = replace(load, conversion_rate_90d=rate)
        if not refreshed and _caps_stale(config, rep_caps(rep_ids=unlocked)):
            # A limit changed since the configuration was compiled: compile it again now.
            config_cache_clear()
            refreshed, config = True, config_current()
            rotations.update(
                _rotations_lock(
                    r.rule_id
                    for r in config.snapshot.rules
                    if r.rule_id and r.rule_id not in rotations
                )
            )
            first = [
                decide(config.compiled, fact, loads=loads, rotations=no_rotations, now=now)
                for fact in facts
            ]
            stale = True
        if not stale:
            break
        logger.info("A picked rep's load or limits changed concurrently; planning again")

    takes = [
        _Take(
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
    written = dict(zip((take.lead.pk for take in takes), _assignments_record(takes), strict=True))
    return [(pick.decision, written.get(lead.pk)) for lead, pick in zip(leads, picks, strict=True)]


def _assignment_record(take: _Take) -> Assignment | None:
    """Write `take` through the ORM: the Assignment, the lead, the rotation cursor and the
    rep's counters. None, and nothing written, when the rep has no room (a last check)."""
    lead, decision = take.lead, take.decision
    previous_owner_id = lead.owner_id if lead.status in WORKING_STATUSES else None
    rep = Rep.objects.select_for_update(of=("self",)).select_related("user").get(pk=take.rep_id)
    if not decision.forced and _capacity_problem(rep, now=take.now) is not None:
        return None
    assignment = assignment_start(
        lead=lead,
        rep=rep,
        decision=decision,
        kind=take.kind,
        reason=take.reason,
        trace=decision.trace,
        now=take.now,
        config=take.config,
        actor=take.actor,
    )
    if decision.new_rotation is not None:
        RotationStateRow.objects.filter(rule_id=decision.rule_id).update(
            data=dict(decision.new_rotation.data),
            assignments=F("assignments") + 1,
            updated_at=take.now,
        )
    for name, value in take.lead_values().items():
        setattr(lead, name, value)
    lead.save(update_fields=[*_ASSIGNED_LEAD_FIELDS, "updated_at"])
    if previous_owner_id is not None:  # a reroute: the lead moved
        _reassigned_activity(assignment, previous_owner_id=previous_owner_id)
        return assignment
    LeadActivity.objects.create(
        lead=lead,
        kind=LeadActivityKind.ASSIGNED,
        at=take.now,
        actor=take.actor,
        note=take.reason,
        data={"rep": rep.username, "assignment": assignment.pk},
    )
    return assignment


# Every first assignment of a batch in one statement; the reps' rows are locked and their room
# checked by the caller. Rows are written in batch order (`ord`), so ids follow the decisions.
# The batch travels as one JSON document: quoting it is one call, where arrays of JSON traces
# cost the client a regular-expression pass per quote character.
#: A CTE that stores each rule's rotation cursor after a batch and counts its assignments
#: (`%(cursors)s`: a JSON array of {rule_id, data, taken}; `%(cursors_at)s`: the write time).
ROTATION_CURSORS_CTE = """rotation AS (
    UPDATE routing_rotationstate s
    SET data = c.data, assignments = s.assignments + c.taken, updated_at = %(cursors_at)s
    FROM jsonb_to_recordset(%(cursors)s::jsonb) AS c(rule_id bigint, data jsonb, taken int)
    WHERE s.rule_id = c.rule_id
)"""

_FIRST_ASSIGNMENTS_SQL = f"""
WITH take AS (
    SELECT * FROM jsonb_to_recordset(%(takes)s::jsonb) AS t(
        ord int, lead_id bigint, rep_id bigint, rep_today date, rule_id bigint,
        territory_id bigint, sla_due_at timestamptz, rule_name text, strategy text, kind text,
        reason text, trace jsonb, username text)
), rep AS (
    UPDATE reps_rep r
    SET open_leads_count = r.open_leads_count + n.taken,
        assigned_today = CASE WHEN r.assigned_today_date = n.today
                              THEN r.assigned_today + n.taken ELSE n.taken END,
        assigned_today_date = n.today,
        last_assigned_at = %(now)s
    FROM (SELECT rep_id, min(rep_today) AS today, count(*) AS taken
          FROM take GROUP BY rep_id) n
    WHERE r.id = n.rep_id
), {ROTATION_CURSORS_CTE}, lead AS (
    UPDATE leads_lead l
    SET status = %(status)s, owner_id = take.rep_id, rule_id = take.rule_id,
        territory_id = take.territory_id, assigned_at = %(now)s,
        sla_due_at = take.sla_due_at, updated_at = %(now)s
    FROM take
    WHERE l.id = take.lead_id
), assignment AS (
    INSERT INTO routing_assignment (lead_id, rep_id, rule_id, rule_name, config_version_id,
                                    strategy, kind, reason, trace, actor_id, assigned_at)
    SELECT lead_id, rep_id, rule_id, rule_name, %(config_version_id)s,
           strategy, kind, reason, trace, %(actor_id)s, %(now)s
    FROM take ORDER BY ord
    RETURNING id, lead_id
), activity AS (
    INSERT INTO leads_leadactivity (lead_id, kind, at, actor_id, note, data)
    SELECT take.lead_id, %(activity)s, %(now)s, %(actor_id)s, take.reason,
           jsonb_build_object('rep', take.username, 'assignment', assignment.id)
    FROM take JOIN assignment USING (lead_id)
    ORDER BY take.ord
)
SELECT lead_id, id FROM assignment
"""


def _assignments_record(takes: Sequence[_Take]) -> list[Assignment | None]:
    """Write `takes`, each on a rep whose row the caller locked with room checked.

    The first assignments of a batch are one statement on PostgreSQL (the hot path: the rules'
    rotation rows stay locked for a single round trip); later moves, and other databases, go
    through the ORM one by one.
    """
    firsts = [take for take in takes if take.lead.status in (LeadStatus.NEW, LeadStatus.UNROUTED)]
    if not (firsts and SINGLE_STATEMENT_WRITES and connection.vendor == "postgresql"):
        return [_assignment_record(take) for take in takes]
    written = {assignment.lead_id: assignment for assignment in _first_assignments_write(firsts)}
    return [written.get(take.lead.pk) or _assignment_record(take) for take in takes]


def _first_assignments_write(takes: Sequence[_Take]) -> list[Assignment]:
    """`_assignment_record` for leads never owned, on PostgreSQL: one data-modifying statement."""
    first, now = takes[0], takes[0].now
    config, actor_id = first.config, getattr(first.actor, "pk", None)
    values = [take.lead_values() for take in takes]
    cursors: dict[int, tuple[RotationState, int]] = {}
    for take in takes:  # each rule's cursor after its last assignment of the batch
        rotation = take.decision.new_rotation
        if rotation is not None:
            _, taken = cursors.get(rotation.rule_id, (rotation, 0))
            cursors[rotation.rule_id] = (rotation, taken + 1)
    rows = [
        {
            "ord": ord_,
            "lead_id": take.lead.pk,
            "rep_id": take.rep_id,
            "rep_today": now.astimezone(config.compiled.reps[take.rep_id].tz).date().isoformat(),
            "rule_id": take.decision.rule_id,
            "territory_id": lead_values["territory_id"],
            "sla_due_at": lead_values["sla_due_at"].isoformat(),
            "rule_name": take.decision.rule_name or "",
            "strategy": take.decision.strategy or "",
            "kind": take.kind,
            "reason": take.reason,
            "trace": take.decision.trace,
            "username": config.compiled.reps[take.rep_id].username,
        }
        for ord_, (take, lead_values) in enumerate(zip(takes, values, strict=True))
    ]
    params = {
        "takes": json.dumps(rows),
        "cursors": json.dumps(
            [
                {"rule_id": rule_id, "data": dict(rotation.data), "taken": taken}
                for rule_id, (rotation, taken) in cursors.items()
            ]
        ),
        "now": now,
        "cursors_at": now,
        "status": LeadStatus.ASSIGNED,
        "config_version_id": config.version_id,
        "actor_id": actor_id,
        "activity": LeadActivityKind.ASSIGNED,
    }
    with connection.cursor() as cursor:
        cursor.execute(_FIRST_ASSIGNMENTS_SQL, params)
        ids = dict(cursor.fetchall())
    assignments = []
    for take, lead_values in zip(takes, values, strict=True):
        lead, decision = take.lead, take.decision
        for name, value in lead_values.items():
            setattr(lead, name, value)
        lead.updated_at = now
        assignment = Assignment(
            id=ids[lead.pk],
            lead=lead,
            rep_id=take.rep_id,
            rule_id=decision.rule_id,
            rule_name=decision.rule_name or "",
            config_version_id=config.version_id,
            strategy=decision.strategy or "",
            kind=take.kind,
            reason=take.reason,
            trace=decision.trace,
            actor_id=actor_id,
            assigned_at=now,
        )
        assignment._state.adding = False
        assignment._state.db = connection.alias
        assignments.append(assignment)
    return assignments


def assignment_start(
    *,
    lead: Lead,
    rep: Rep,
    decision: Decision | None,
    kind: str,
    reason: str,
    trace: dict[str, Any],
    now: datetime,
    config: CurrentConfig | None,
    actor: Any = None,
    rule_id: int | None = None,
    rule_name: str = "",
    strategy: str = "",
) -> Assignment:
    """End the current assignment (if any) and start a new one, moving the load counters."""
    previous_owner_id = lead.owner_id if lead.status in WORKING_STATUSES else None
    if lead.status not in (LeadStatus.NEW, LeadStatus.UNROUTED):
        # Only a lead that was owned has a current assignment to end.
        Assignment.objects.filter(lead=lead, ended_at__isnull=True).update(ended_at=now)
    assignment = Assignment.objects.create(
        lead=lead,
        rep=rep,
        rule_id=decision.rule_id if decision else rule_id,
        rule_name=(decision.rule_name if decision else rule_name) or "",
        # Moves no rule decided (by hand, a duplicate) record the version in force.
        config_version_id=config.version_id if config else config_version_latest(),
        strategy=(decision.strategy if decision else strategy) or "",
        kind=kind,
        reason=reason,
        trace=trace,
        actor=actor,
        assigned_at=now,
    )
    if previous_owner_id is not None:
        rep_counters_release(rep_id=previous_owner_id)
    if kind != AssignmentKind.DUPLICATE:
        _rep_counters_take(rep=rep, now=now)
    return assignment


def _may_be_duplicate(lead: Lead) -> bool:
    """False when `_lead_lock` found no older open lead with the same email."""
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
    """Record `lead` as a duplicate of the open `original`, owned by the original's owner."""
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
            rep=owner,
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


@cache
def _lead_lock_sql(vendor: str, *, waiting: bool = False, many: bool = False) -> str:
    """One statement: the lead, locked, with the oldest older open lead sharing its email and
    the newest configuration version id.

    `waiting`: instead, up to N `new` leads other than one, oldest first, skipping those another
    transaction holds. `many`: the leads whose ids are given (one array parameter), in id order,
    skipping those another transaction holds. Hand-written because it runs for every lead: the
    ORM spent longer building the annotated query than PostgreSQL spent answering it.
    """
    table = Lead._meta.db_table
    open_statuses = ", ".join(f"'{status}'" for status in OPEN_STATUSES)  # constants, not input
    # The newest configuration version rides along (evaluated once per statement): routing
    # checks its compiled configuration is current without another round trip.
    select = (
        f"SELECT l.*, (SELECT MIN(o.id) FROM {table} o WHERE o.email = l.email"
        f" AND o.status IN ({open_statuses}) AND o.id < l.id) AS open_original_id,"
        f" ({VERSION_LATEST_SQL}) AS live_config_version_id"
        f" FROM {table} l"
    )
    lock = " FOR UPDATE OF l" if vendor == "postgresql" else ""
    skip = " SKIP LOCKED" if lock else ""
    if many:
        ids = "l.id = ANY(%s)" if lock else "l.id IN (SELECT value FROM json_each(%s))"
        return f"{select} WHERE {ids} ORDER BY l.id{lock}{skip}"
    if not waiting:
        return f"{select} WHERE l.id = %s{lock}"
    return (
        f"{select} WHERE l.status = '{LeadStatus.NEW}' AND l.id <> %s"
        f" ORDER BY l.created_at, l.id LIMIT %s{lock}{skip}"
    )


def _lead_lock(lead_id: int) -> Lead:
    """Lock the lead; `open_original_id` names an older open lead with the same email, if any."""
    for lead in Lead.objects.raw(_lead_lock_sql(connection.vendor), [lead_id]):
        return lead
    raise Lead.DoesNotExist(f"Lead {lead_id} does not exist.")


def _waiting_leads_lock(*, besides: int, limit: int) -> list[Lead]:
    """Lock up to `limit` other `new` leads, oldest first, that no other transaction holds."""
    if limit <= 0:
        return []
    sql = _lead_lock_sql(connection.vendor, waiting=True)
    return list(Lead.objects.raw(sql, [besides, limit]))


def _leads_lock(lead_ids: Sequence[int]) -> list[Lead]:
    """Lock these leads (id order), skipping those another transaction holds."""
    sql = _lead_lock_sql(connection.vendor, many=True)
    ids = list(lead_ids) if connection.vendor == "postgresql" else json.dumps(list(lead_ids))
    return list(Lead.objects.raw(sql, [ids]))


def leads_route(*, lead_ids: Sequence[int], now: datetime | None = None) -> dict[int, RouteResult]:
    """Route these `new` leads and retry these `unrouted` ones, together in one transaction
    (`route_pending`: a backlog left by a broker outage drains a batch at a time).

    A lead another transaction holds is skipped (missing from the answer). A possible duplicate
    is routed on its own afterwards, its original locked first as always.
    """
    now = now or timezone.now()
    with transaction.atomic():
        leads = _leads_lock(lead_ids)
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
        lead = _lead_lock(lead_id)
        leads = [lead]
        if batch > 1 and lead.status == LeadStatus.NEW and not _may_be_duplicate(lead):
            # A possible duplicate is never taken along: its original must be locked before
            # any rule or rep row (the lock order), which its own task does.
            waiting = _waiting_leads_lock(besides=lead_id, limit=batch - 1)
            leads += [each for each in waiting if not _may_be_duplicate(each)]
            leads.sort(key=lambda each: each.pk)
        return _route_locked(leads, now=now, actor=actor, retry_unrouted=retry_unrouted)[lead_id]


def lead_reroute(*, lead_id: int, actor: Any, now: datetime | None = None) -> RouteResult:
    """Run routing again for an open lead (manager action): a fresh decision, not a no-op.

    Moving an assigned lead is recorded as kind `manual` and settles an escalation (as
    `lead_reassign`); an unrouted lead's new assignment is a `retry`.
    """
    now = now or timezone.now()
    with transaction.atomic():
        lead = _lead_lock(lead_id)
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
            assignments=[(assignment.pk, lead.pk, _taken_from(previous_owner_id, assignment), now)]
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


def _taken_from(previous_owner_id: int | None, assignment: Assignment) -> int | None:
    """The rep who lost the lead to `assignment` (owed a "taken away" mail), if anyone did."""
    return previous_owner_id if previous_owner_id not in (None, assignment.rep_id) else None


def _reassigned_activity(assignment: Assignment, *, previous_owner_id: int | None) -> None:
    """The lead's `reassigned` activity for a move outside the sweep (reroute, by hand), with the
    data the sweep writes for its moves."""
    LeadActivity.objects.create(
        lead_id=assignment.lead_id,
        kind=LeadActivityKind.REASSIGNED,
        at=assignment.assigned_at,
        actor=assignment.actor,
        note=assignment.reason,
        data={
            "from": previous_owner_id,
            "to": assignment.rep_id,
            "kind": assignment.kind,
            "assignment": assignment.pk,
        },
    )


def lead_reassign(
    *, lead_id: int, rep: Rep, note: str, actor: Any, now: datetime | None = None
) -> Assignment:
    """A manager hands an open lead to a named rep, with a note (kind `manual`)."""
    now = now or timezone.now()
    if not note or not note.strip():
        raise RoutingError("A note is required to reassign a lead.")
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead_id)
        if lead.status not in (*WORKING_STATUSES, LeadStatus.UNROUTED, LeadStatus.NEW):
            raise RoutingError(f"A {lead.status} lead cannot be reassigned.")
        if lead.owner_id == rep.pk and lead.status in WORKING_STATUSES:
            raise RoutingError(f"The lead already belongs to {rep.username}.")
        previous_owner_id = lead.owner_id if lead.status in WORKING_STATUSES else None
        # Both reps' rows, in id order (the sweep locks every rep in id order): the previous
        # owner is released below, and locking it after the new rep could deadlock.
        locked = {
            each.pk: each
            for each in Rep.objects.select_for_update(of=("self",))
            .select_related("user")
            .filter(pk__in=[rep.pk] if previous_owner_id is None else [rep.pk, previous_owner_id])
            .order_by("pk")
        }
        rep = locked[rep.pk]
        actor_name = getattr(actor, "username", "system")
        reason = f"Reassigned by {actor_name} to {rep.username}: {note.strip()}"
        assignment = assignment_start(
            lead=lead,
            rep=rep,
            decision=None,
            kind=AssignmentKind.MANUAL,
            reason=reason,
            trace={
                "evaluated_at": now.isoformat(),
                "rules": [],
                "outcome": "manual",
                "actor": actor_name,
                "note": note.strip(),
            },
            now=now,
            config=None,
            actor=actor,
            rule_id=None,
            rule_name="",
            strategy="manual",
        )
        lead.owner = rep
        lead.rule = None
        lead.assigned_at = now
        # A manager's hand-over settles an escalation: the new owner's SLA ladder starts afresh.
        lead.escalated_at = None
        lead.reassignment_count = 0
        if lead.status != LeadStatus.CONTACTED:
            lead.status = LeadStatus.ASSIGNED
            lead.sla_due_at = sla_due_at(now=now, sla_minutes=None)
        lead.save(
            update_fields=[
                "status",
                "owner",
                "rule",
                "assigned_at",
                "sla_due_at",
                "escalated_at",
                "reassignment_count",
                "updated_at",
            ]
        )
        _reassigned_activity(assignment, previous_owner_id=previous_owner_id)
        outbox_write(
            assignments=[(assignment.pk, lead.pk, _taken_from(previous_owner_id, assignment), now)]
        )
        return assignment


def routing_simulate(*, facts: LeadFacts, at: datetime | None = None) -> Decision:
    """What routing would do for these lead facts at `at`: same engine, no writes, no rotation."""
    now = at or timezone.now()
    config = config_current()
    return decide(
        config.compiled, facts, loads=rep_loads(now=now), rotations=rotation_states(), now=now
    )


__all__ = [
    "RouteResult",
    "RoutingError",
    "lead_reassign",
    "lead_reroute",
    "lead_route",
    "leads_reroute",
    "leads_route",
    "rep_counters_release",
    "routing_simulate",
]
