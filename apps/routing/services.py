"""Write side of routing: every assignment is one transaction with its audit records.

`lead_route` decides with the pure engine outside any lock, then locks the winning rule's
RotationState row (held for milliseconds), re-decides that rule against the locked cursor,
locks the chosen rep's row to re-check capacity, and writes the Assignment, the lead, the
rotation cursor and the rep's load counters together.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone

from apps.leads.models import (
    OPEN_STATUSES,
    WORKING_STATUSES,
    Lead,
    LeadActivity,
    LeadActivityKind,
    LeadStatus,
)
from apps.notifications.services import notify_assignment, notify_on_commit
from apps.reps.models import Rep
from apps.routing.engine import Decision, LeadFacts, RepLoad, RotationState, decide
from apps.routing.models import Assignment, AssignmentKind
from apps.routing.models import RotationState as RotationStateRow
from apps.routing.selectors import (
    CurrentConfig,
    config_current,
    lead_facts,
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


def _rotation_lock(rule_id: int) -> RotationState:
    """Lock the rule's rotation row (created on the rule's first assignment) and read its cursor."""
    table = RotationStateRow._meta.db_table
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT data FROM {table} WHERE rule_id = %s{lock}", [rule_id])
        row = cursor.fetchone()
        if row is None:
            RotationStateRow.objects.bulk_create(
                [RotationStateRow(rule_id=rule_id)], ignore_conflicts=True
            )
            cursor.execute(f"SELECT data FROM {table} WHERE rule_id = %s{lock}", [rule_id])
            row = cursor.fetchone()
    data = json.loads(row[0]) if isinstance(row[0], str) else row[0]
    return RotationState(rule_id=rule_id, data=data or {})


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


def _route_commit(
    *,
    lead: Lead,
    config: CurrentConfig,
    now: datetime,
    actor: Any,
    kind: str,
    reason_prefix: str = "",
) -> tuple[Decision, Assignment | None]:
    """Decide for the locked `lead` and write the assignment under the rule's and rep's locks.

    The first pass (no lock) only finds the winning rule: whether anyone is eligible does not
    depend on the cursor. The pick comes from the locked cursor, and the rep's capacity is
    checked again as their row is written; a rep who filled up meanwhile means deciding again.
    No assignment when no one can take the lead.
    """
    facts = lead_facts(lead)
    loads: dict[int, RepLoad] = rep_loads(now=now)
    no_rotations: Mapping[int, RotationState] = {}
    decision = decide(config.compiled, facts, loads=loads, rotations=no_rotations, now=now)
    for _ in range(_MAX_PICK_ATTEMPTS):
        if decision.outcome != "assigned" or decision.rule_id is None or decision.rep_id is None:
            return decision, None
        confirmed = decide(
            config.compiled,
            facts,
            loads=loads,
            rotations={decision.rule_id: _rotation_lock(decision.rule_id)},
            now=now,
            only_rule_id=decision.rule_id,
        )
        if confirmed.outcome == "assigned" and confirmed.rep_id is not None:
            confirmed = replace(confirmed, trace=_merge_trace(decision, confirmed))
            take = _Take(
                lead=lead,
                decision=confirmed,
                config=config,
                kind=kind,
                reason=reason_prefix + confirmed.reason,
                now=now,
                actor=actor,
            )
            assignment = _assignment_record(take)
            if assignment is not None:
                return confirmed, assignment
            logger.info("Rep %s filled up concurrently; deciding again", confirmed.rep_id)
            loads.update(rep_loads(now=now, rep_ids=[confirmed.rep_id], need_rates=False))
        # The rule found no one under the lock, or its pick filled up: decide again from scratch.
        decision = decide(config.compiled, facts, loads=loads, rotations=no_rotations, now=now)
    return decision, None


def _assignment_record(take: _Take) -> Assignment | None:
    """Write `take`: the Assignment, the lead, the rotation cursor and the rep's counters.

    None, and nothing written, when the rep reached a capacity limit since the decision. A first
    assignment on PostgreSQL is one statement (the hot path: the rule's rotation row stays locked
    for three round trips); later moves, and other databases, go through the ORM.
    """
    lead, decision = take.lead, take.decision
    first = lead.status in (LeadStatus.NEW, LeadStatus.UNROUTED)
    if first and SINGLE_STATEMENT_WRITES and connection.vendor == "postgresql":
        return _first_assignment_write(take)
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
    LeadActivity.objects.create(
        lead=lead,
        kind=LeadActivityKind.ASSIGNED,
        at=take.now,
        actor=take.actor,
        note=take.reason,
        data={"rep": rep.username, "assignment": assignment.pk},
    )
    return assignment


# The rep's counters move only if they still have room (unless the rule assigns anyway); the
# rotation, the lead and the Assignment are written only if the rep's row was.
_FIRST_ASSIGNMENT_SQL = """
WITH rep AS (
    UPDATE reps_rep
    SET open_leads_count = open_leads_count + 1,
        assigned_today = CASE WHEN assigned_today_date = %(today)s
                              THEN assigned_today + 1 ELSE 1 END,
        assigned_today_date = %(today)s,
        last_assigned_at = %(now)s
    WHERE id = %(rep_id)s
      AND (%(forced)s OR (
          (max_open_leads IS NULL OR open_leads_count < max_open_leads)
          AND (max_daily_leads IS NULL OR max_daily_leads > CASE
               WHEN assigned_today_date = %(today)s THEN assigned_today ELSE 0 END)))
    RETURNING id
), rotation AS (
    UPDATE routing_rotationstate
    SET data = %(rotation)s::jsonb, assignments = assignments + 1, updated_at = %(now)s
    WHERE rule_id = %(rule_id)s AND %(advance)s AND EXISTS (SELECT FROM rep)
), lead AS (
    UPDATE leads_lead
    SET status = %(status)s, owner_id = %(owner_id)s, rule_id = %(rule_id)s,
        territory_id = %(territory_id)s, assigned_at = %(assigned_at)s,
        sla_due_at = %(sla_due_at)s, updated_at = %(now)s
    WHERE id = %(lead_id)s AND EXISTS (SELECT FROM rep)
), assignment AS (
    INSERT INTO routing_assignment (lead_id, rep_id, rule_id, rule_name, config_version_id,
                                    strategy, kind, reason, trace, actor_id, assigned_at)
    SELECT %(lead_id)s, rep.id, %(rule_id)s, %(rule_name)s, %(config_version_id)s,
           %(strategy)s, %(kind)s, %(reason)s, %(trace)s::jsonb, %(actor_id)s, %(now)s
    FROM rep
    RETURNING id
), activity AS (
    INSERT INTO leads_leadactivity (lead_id, kind, at, actor_id, note, data)
    SELECT %(lead_id)s, %(activity)s, %(now)s, %(actor_id)s, %(reason)s,
           jsonb_build_object('rep', %(username)s::text, 'assignment', assignment.id)
    FROM assignment
)
SELECT id FROM assignment
"""


def _first_assignment_write(take: _Take) -> Assignment | None:
    """`_assignment_record` for a lead never owned, on PostgreSQL: one data-modifying statement."""
    lead, decision, now = take.lead, take.decision, take.now
    values = take.lead_values()
    rep = take.config.compiled.reps[take.rep_id]  # the engine picks only compiled reps
    actor_id = getattr(take.actor, "pk", None)
    with connection.cursor() as cursor:
        cursor.execute(
            _FIRST_ASSIGNMENT_SQL,
            {
                **values,
                "lead_id": lead.pk,
                "rep_id": take.rep_id,
                "today": now.astimezone(rep.tz).date(),
                "now": now,
                "forced": decision.forced,
                "advance": decision.new_rotation is not None,
                "rotation": json.dumps(
                    dict(decision.new_rotation.data) if decision.new_rotation else {}
                ),
                "rule_name": decision.rule_name or "",
                "config_version_id": take.config.version_id,
                "strategy": decision.strategy or "",
                "kind": take.kind,
                "reason": take.reason,
                "trace": json.dumps(decision.trace),
                "actor_id": actor_id,
                "activity": LeadActivityKind.ASSIGNED,
                "username": rep.username,
            },
        )
        row = cursor.fetchone()
    if row is None:
        return None
    for name, value in values.items():
        setattr(lead, name, value)
    lead.updated_at = now
    assignment = Assignment(
        id=row[0],
        lead=lead,
        rep_id=take.rep_id,
        rule_id=decision.rule_id,
        rule_name=decision.rule_name or "",
        config_version_id=take.config.version_id,
        strategy=decision.strategy or "",
        kind=take.kind,
        reason=take.reason,
        trace=decision.trace,
        actor_id=actor_id,
        assigned_at=now,
    )
    assignment._state.adding = False
    assignment._state.db = connection.alias
    return assignment


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
        config_version_id=config.version_id if config else None,
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


def _open_original(lead: Lead) -> Lead | None:
    """The oldest open lead with the same email created before `lead`, locked (dedup)."""
    if getattr(lead, "open_original_id", 0) is None:  # `_lead_lock` already found none
        return None
    return (
        Lead.objects.select_for_update()
        .filter(email=lead.email, status__in=OPEN_STATUSES, pk__lt=lead.pk)
        .order_by("pk")
        .first()
    )


def _route_locked(lead: Lead, *, now: datetime, actor: Any, retry_unrouted: bool) -> RouteResult:
    if lead.status not in (LeadStatus.NEW, LeadStatus.UNROUTED):
        return RouteResult(lead=lead, outcome="noop")
    if lead.status == LeadStatus.UNROUTED and not retry_unrouted:
        return RouteResult(lead=lead, outcome="noop")
    if lead.status == LeadStatus.NEW:
        original = _open_original(lead)
        if original is not None:
            return _mark_duplicate(lead, original=original, now=now, actor=actor)

    config = config_current()
    kind = AssignmentKind.RETRY if lead.status == LeadStatus.UNROUTED else AssignmentKind.AUTO
    decision, assignment = _route_commit(lead=lead, config=config, now=now, actor=actor, kind=kind)
    if assignment is None:
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
    notify_on_commit(notify_assignment, assignment.pk)
    return RouteResult(lead=lead, outcome="assigned", assignment=assignment, decision=decision)


def _mark_duplicate(lead: Lead, *, original: Lead, now: datetime, actor: Any) -> RouteResult:
    """Record `lead` as a duplicate of the open `original`, owned by the original's owner."""
    if original.status == LeadStatus.NEW:
        # Route the original first, under the same locks, so the copy follows its owner.
        _route_locked(original, now=now, actor=actor, retry_unrouted=False)
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
def _lead_lock_sql(vendor: str) -> str:
    """One statement: the lead, locked, with the oldest older open lead sharing its email.

    Hand-written because it runs for every lead: the ORM spent longer building the annotated
    query than PostgreSQL spent answering it.
    """
    table = Lead._meta.db_table
    open_statuses = ", ".join(f"'{status}'" for status in OPEN_STATUSES)  # constants, not input
    lock = " FOR UPDATE OF l" if vendor == "postgresql" else ""
    return (
        f"SELECT l.*, (SELECT MIN(o.id) FROM {table} o WHERE o.email = l.email"
        f" AND o.status IN ({open_statuses}) AND o.id < l.id) AS open_original_id"
        f" FROM {table} l WHERE l.id = %s{lock}"
    )


def _lead_lock(lead_id: int) -> Lead:
    """Lock the lead; `open_original_id` names an older open lead with the same email, if any."""
    for lead in Lead.objects.raw(_lead_lock_sql(connection.vendor), [lead_id]):
        return lead
    raise Lead.DoesNotExist(f"Lead {lead_id} does not exist.")


def lead_route(
    *, lead_id: int, now: datetime | None = None, actor: Any = None, retry_unrouted: bool = True
) -> RouteResult:
    """Route a `new` (or retry an `unrouted`) lead; a no-op for a lead already routed."""
    now = now or timezone.now()
    with transaction.atomic():
        lead = _lead_lock(lead_id)
        return _route_locked(lead, now=now, actor=actor, retry_unrouted=retry_unrouted)


def lead_reroute(*, lead_id: int, actor: Any, now: datetime | None = None) -> RouteResult:
    """Run routing again for an open lead (manager action): a fresh decision, not a no-op."""
    now = now or timezone.now()
    with transaction.atomic():
        lead = _lead_lock(lead_id)
        if lead.status not in (LeadStatus.ASSIGNED, LeadStatus.UNROUTED, LeadStatus.NEW):
            raise RoutingError(f"A {lead.status} lead cannot be rerouted.")
        if lead.status == LeadStatus.NEW:
            # Never routed: the normal path, duplicate check included.
            result = _route_locked(lead, now=now, actor=actor, retry_unrouted=False)
            if result.outcome == "unrouted" and result.decision is not None:
                raise RoutingError(f"Rerouting found no eligible rep: {result.decision.reason}")
            return result
        decision, assignment = _route_commit(
            lead=lead,
            config=config_current(),
            now=now,
            actor=actor,
            kind=AssignmentKind.AUTO,
            reason_prefix=f"Rerouted by {getattr(actor, 'username', 'system')}: ",
        )
        if assignment is None:
            raise RoutingError(f"Rerouting found no eligible rep: {decision.reason}")
        LeadActivity.objects.create(
            lead=lead,
            kind=LeadActivityKind.REASSIGNED,
            at=now,
            actor=actor,
            note=assignment.reason,
        )
        notify_on_commit(notify_assignment, assignment.pk)
        return RouteResult(lead=lead, outcome="assigned", assignment=assignment, decision=decision)


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
        rep = Rep.objects.select_for_update().select_related("user").get(pk=rep.pk)
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
        if lead.status != LeadStatus.CONTACTED:
            lead.status = LeadStatus.ASSIGNED
            lead.sla_due_at = sla_due_at(now=now, sla_minutes=None)
        lead.save(
            update_fields=["status", "owner", "rule", "assigned_at", "sla_due_at", "updated_at"]
        )
        LeadActivity.objects.create(
            lead=lead, kind=LeadActivityKind.REASSIGNED, at=now, actor=actor, note=reason
        )
        notify_on_commit(notify_assignment, assignment.pk)
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
    "rep_counters_release",
    "routing_simulate",
]
