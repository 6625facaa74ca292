"""The counter writer: stores reps' load counters moved in memory (apps.routing.counters).

Two implementations behind one interface, chosen in apps.routing.writers: one PostgreSQL
statement fed by a JSON document (its CTE also rides inside the batch and page statements), and
the ORM's bulk update elsewhere. Both store the absolute values read and moved under the rows'
locks, so they write the same thing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Protocol

from django.db import connection

from apps.reps.models import Rep
from apps.routing.counters import RepCounters

_REP_COUNTER_FIELDS = (
    "open_leads_count",
    "assigned_today",
    "assigned_today_date",
    "last_assigned_at",
)

#: A CTE that stores the changed counters (`%(reps)s`: `rep_counters_param`'s JSON array).
REP_COUNTERS_CTE = """rep AS (
    UPDATE reps_rep r
    SET open_leads_count = c.open_leads_count, assigned_today = c.assigned_today,
        assigned_today_date = c.assigned_today_date, last_assigned_at = c.last_assigned_at
    FROM jsonb_to_recordset(%(reps)s::jsonb) AS c(id bigint, open_leads_count int,
        assigned_today int, assigned_today_date date, last_assigned_at timestamptz)
    WHERE r.id = c.id
)"""


def _changed(counters: Iterable[RepCounters]) -> list[RepCounters]:
    """The counters to store, in rep id order (the order their rows were locked in)."""
    return sorted((c for c in counters if c.changed), key=lambda c: c.rep_id)


def rep_counters_param(counters: Iterable[RepCounters]) -> str:
    """The changed counters as the JSON document `REP_COUNTERS_CTE` reads."""
    return json.dumps(
        [
            {
                "id": c.rep_id,
                "open_leads_count": c.open_leads,
                "assigned_today": c.assigned_today,
                "assigned_today_date": (
                    c.assigned_today_date.isoformat() if c.assigned_today_date else None
                ),
                "last_assigned_at": c.last_assigned_at.isoformat() if c.last_assigned_at else None,
            }
            for c in _changed(counters)
        ]
    )


class CounterWriter(Protocol):
    """Stores reps' counters, read under their row locks and moved in memory."""

    def write(self, counters: Iterable[RepCounters]) -> None: ...


class PostgresCounterWriter:
    """One statement for any number of reps."""

    def write(self, counters: Iterable[RepCounters]) -> None:
        changed = _changed(counters)
        if not changed:
            return
        params: dict[str, Any] = {"reps": rep_counters_param(changed)}
        with connection.cursor() as cursor:
            cursor.execute(f"WITH {REP_COUNTERS_CTE} SELECT 1", params)


class OrmCounterWriter:
    """The ORM's bulk update (other databases)."""

    def write(self, counters: Iterable[RepCounters]) -> None:
        changed = _changed(counters)
        if not changed:
            return
        Rep.objects.bulk_update(
            [
                Rep(
                    pk=c.rep_id,
                    open_leads_count=c.open_leads,
                    assigned_today=c.assigned_today,
                    assigned_today_date=c.assigned_today_date,
                    last_assigned_at=c.last_assigned_at,
                )
                for c in changed
            ],
            list(_REP_COUNTER_FIELDS),
        )


__all__ = [
    "REP_COUNTERS_CTE",
    "CounterWriter",
    "OrmCounterWriter",
    "PostgresCounterWriter",
    "rep_counters_param",
]
