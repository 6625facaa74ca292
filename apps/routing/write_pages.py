"""The page writer: stores what one sweep page decided (apps.routing.sla_decisions).

Two implementations behind one interface, chosen in apps.routing.writers: one PostgreSQL
statement fed by JSON documents (one round trip whatever the page size), and a handful of ORM
bulk statements elsewhere. Both write the same rows: tests/routing/test_writers.py keeps them
equal.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any, Protocol

from django.db import connection
from django.db.models import F

from apps.leads.models import Lead, LeadActivity, LeadActivityKind
from apps.routing.models import Assignment
from apps.routing.models import RotationState as RotationStateRow
from apps.routing.sla_decisions import Page
from apps.routing.write_assignments import ROTATION_CURSORS_CTE
from apps.routing.write_counters import REP_COUNTERS_CTE, OrmCounterWriter, rep_counters_param

#: The lead fields a page writes back (with `updated_at`).
LEAD_SLA_FIELDS = (
    "owner",
    "rule",
    "territory",
    "assigned_at",
    "sla_due_at",
    "sla_reminded_at",
    "reassignment_count",
    "escalated_at",
)


class PageWriter(Protocol):
    """Stores a decided page: the moved leads' assignments, the leads, the reps' counters, the
    rotation cursors and the activities; returns the new assignments' ids in move order."""

    def write(self, page: Page, touched: datetime) -> list[int]: ...


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
        -- The id list as well as the join, here and for the leads below: the rows are found
        -- through their indexes whatever the tables' statistics say (a table analyzed while
        -- small would otherwise be scanned whole for every page).
        AND a.lead_id = ANY(ARRAY(SELECT lead_id FROM move))
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
), {REP_COUNTERS_CTE}, {ROTATION_CURSORS_CTE}, lead AS (
    UPDATE leads_lead l
    SET owner_id = c.owner_id, rule_id = c.rule_id, territory_id = c.territory_id,
        assigned_at = c.assigned_at, sla_due_at = c.sla_due_at,
        sla_reminded_at = c.sla_reminded_at, reassignment_count = c.reassignment_count,
        escalated_at = c.escalated_at, updated_at = %(touched)s
    FROM jsonb_to_recordset(%(leads)s::jsonb) AS c(id bigint, owner_id bigint, rule_id bigint,
        territory_id bigint, assigned_at timestamptz, sla_due_at timestamptz,
        sla_reminded_at timestamptz, reassignment_count int, escalated_at timestamptz)
    WHERE l.id = c.id AND l.id = ANY(ARRAY(
        SELECT (e->>'id')::bigint FROM jsonb_array_elements(%(leads)s::jsonb) AS e))
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


class PostgresPageWriter:
    """Everything the page decided, in one statement."""

    def write(self, page: Page, touched: datetime) -> list[int]:
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
            {
                "ord": ord_,
                "lead_id": lead_id,
                "kind": kind,
                "at": _iso(at),
                "note": note,
                "data": data,
            }
            for ord_, (lead_id, kind, at, _actor, note, data) in enumerate(page.activities)
        ]
        params: dict[str, Any] = {
            "moves": json.dumps(moves),
            "reps": rep_counters_param(page.reps.values()),
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


class OrmPageWriter:
    """The same writes through the ORM (other databases): a handful of bulk statements."""

    def write(self, page: Page, touched: datetime) -> list[int]:
        now = page.now
        assignment_ids: list[int] = []
        if page.moves:
            Assignment.objects.filter(
                lead_id__in=[move.lead.pk for move in page.moves], ended_at__isnull=True
            ).update(ended_at=now)
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
            OrmCounterWriter().write(page.reps.values())
            for rule_id, uses in sorted(page.rotation_uses.items()):
                RotationStateRow.objects.filter(rule_id=rule_id).update(
                    data=dict(page.rotations[rule_id].data),
                    assignments=F("assignments") + uses,
                    updated_at=touched,
                )
        for lead in page.changed.values():
            lead.updated_at = touched
        Lead.objects.bulk_update(list(page.changed.values()), [*LEAD_SLA_FIELDS, "updated_at"])
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


__all__ = ["LEAD_SLA_FIELDS", "OrmPageWriter", "PageWriter", "PostgresPageWriter"]
