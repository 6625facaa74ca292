"""The assignment writer: stores a routing plan's assignments (apps.routing.planning).

Two implementations behind one interface, chosen in apps.routing.writers: on PostgreSQL every
first assignment of a batch is one data-modifying statement (the hot path: the rules' rotation
rows stay locked for a single round trip); through the ORM each assignment is a few statements.
A batch is either first assignments or one move (a reroute); a move always goes through the ORM.
Both write the same rows: tests/routing/test_writers.py keeps them equal.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from django.db import connection
from django.db.models import F

from apps.engine import Decision, RotationState
from apps.leads.models import Lead, LeadActivity, LeadActivityKind, LeadStatus
from apps.routing.counters import RepCounters
from apps.routing.models import Assignment
from apps.routing.models import RotationState as RotationStateRow
from apps.routing.planning import Take
from apps.routing.selectors import CurrentConfig, config_version_latest
from apps.routing.write_counters import (
    REP_COUNTERS_CTE,
    OrmCounterWriter,
    rep_counters_param,
)

#: Lead fields an assignment sets (with `updated_at`).
_ASSIGNED_LEAD_FIELDS = ("status", "owner", "rule", "territory", "assigned_at", "sla_due_at")


# --- one assignment through the ORM (routing's moves, manual moves, duplicates) -----------


def assignment_start(
    *,
    lead: Lead,
    rep_id: int,
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
    """End the lead's current assignment (if any) and start a new one.

    The caller moves the reps' counters (apps.routing.counters) under their row locks.
    """
    if lead.status not in (LeadStatus.NEW, LeadStatus.UNROUTED):
        # Only a lead that was owned has a current assignment to end.
        Assignment.objects.filter(lead=lead, ended_at__isnull=True).update(ended_at=now)
    return Assignment.objects.create(
        lead=lead,
        rep_id=rep_id,
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


def taken_from(previous_owner_id: int | None, assignment: Assignment) -> int | None:
    """The rep who lost the lead to `assignment` (owed a "taken away" mail), if anyone did."""
    return previous_owner_id if previous_owner_id not in (None, assignment.rep_id) else None


def reassigned_activity(assignment: Assignment, *, previous_owner_id: int | None) -> None:
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


# --- the interface ------------------------------------------------------------------------


class AssignmentWriter(Protocol):
    """Stores a plan's takes (leads, assignments, activities, rotation cursors) and the reps'
    counters the plan moved; returns the new assignments in take order."""

    def write(
        self, takes: Sequence[Take], counters: Mapping[int, RepCounters]
    ) -> list[Assignment]: ...


class OrmAssignmentWriter:
    """Each take through the ORM, then the counters in one bulk update."""

    def write(self, takes: Sequence[Take], counters: Mapping[int, RepCounters]) -> list[Assignment]:
        assignments = [self._write_one(take) for take in takes]
        OrmCounterWriter().write(counters.values())
        return assignments

    @staticmethod
    def _write_one(take: Take) -> Assignment:
        lead, decision = take.lead, take.decision
        previous_owner_id = take.previous_owner_id
        assignment = assignment_start(
            lead=lead,
            rep_id=take.rep_id,
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
            reassigned_activity(assignment, previous_owner_id=previous_owner_id)
            return assignment
        LeadActivity.objects.create(
            lead=lead,
            kind=LeadActivityKind.ASSIGNED,
            at=take.now,
            actor=take.actor,
            note=take.reason,
            data={
                "rep": take.config.compiled.reps[take.rep_id].username,
                "assignment": assignment.pk,
            },
        )
        return assignment


# Every first assignment of a batch in one statement; the reps' rows are locked and their
# counters moved by the plan. Rows are written in batch order (`ord`), so ids follow the
# decisions. The batch travels as one JSON document: quoting it is one call, where arrays of
# JSON traces cost the client a regular-expression pass per quote character.
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
        ord int, lead_id bigint, rep_id bigint, rule_id bigint,
        territory_id bigint, sla_due_at timestamptz, rule_name text, strategy text, kind text,
        reason text, trace jsonb, username text)
), {REP_COUNTERS_CTE}, {ROTATION_CURSORS_CTE}, lead AS (
    UPDATE leads_lead l
    SET status = %(status)s, owner_id = take.rep_id, rule_id = take.rule_id,
        territory_id = take.territory_id, assigned_at = %(now)s,
        sla_due_at = take.sla_due_at, updated_at = %(now)s
    FROM take
    -- The id list as well as the join: the lead rows are found through the primary key
    -- whatever the table's statistics say (an import into a fresh table would otherwise
    -- scan the whole table for every batch until autovacuum analyzes it).
    WHERE l.id = take.lead_id AND l.id = ANY(ARRAY(SELECT lead_id FROM take))
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


class PostgresAssignmentWriter:
    """A batch of first assignments in one data-modifying statement; a move through the ORM."""

    def write(self, takes: Sequence[Take], counters: Mapping[int, RepCounters]) -> list[Assignment]:
        if not takes or not all(take.first for take in takes):
            return OrmAssignmentWriter().write(takes, counters)
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
            "reps": rep_counters_param(counters.values()),
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


__all__ = [
    "ROTATION_CURSORS_CTE",
    "AssignmentWriter",
    "OrmAssignmentWriter",
    "PostgresAssignmentWriter",
    "assignment_start",
    "reassigned_activity",
    "taken_from",
]
