"""The outbox writer: stores the notifications a routing change owes (apps.routing.outbox).

Two implementations behind one interface, chosen here by database as apps.routing.writers
chooses the others (the outbox sits below the selectors, which the writers import): one
PostgreSQL statement fed by a JSON document (a routing batch owes two rows per assignment: the
ORM spent more time building and quoting them than routing spent deciding, bench/import.py),
and the ORM's `bulk_create` elsewhere. Both skip a row owed already (a redelivered task, a
retried transaction: the outbox's unique constraints), so both write the same rows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from django.db import connection

from apps.routing.models import OutboxMessage, OutboxStatus

#: One owed notification: (kind, lead id, assignment id or None, rep id or None, occurred at).
OutboxRow = tuple[str, int, int | None, int | None, datetime]

_INSERT_SQL = f"""
INSERT INTO {OutboxMessage._meta.db_table} (kind, lead_id, assignment_id, rep_id, occurred_at,
    status, attempts, next_attempt_at, last_error, created_at)
SELECT r.kind, r.lead_id, r.assignment_id, r.rep_id, r.occurred_at,
    %(status)s, 0, %(now)s, '', %(now)s
FROM jsonb_to_recordset(%(rows)s::jsonb) AS r(ord int, kind text, lead_id bigint,
    assignment_id bigint, rep_id bigint, occurred_at timestamptz)
ORDER BY r.ord
ON CONFLICT DO NOTHING
"""


class OutboxWriter(Protocol):
    """Inserts owed notifications, skipping any owed already."""

    def insert(self, rows: Sequence[OutboxRow], *, now: datetime) -> None: ...


class PostgresOutboxWriter:
    """One statement for the whole batch, in the given order (ids follow it)."""

    def insert(self, rows: Sequence[OutboxRow], *, now: datetime) -> None:
        if not rows:
            return
        document = json.dumps(
            [
                {
                    "ord": ord_,
                    "kind": kind,
                    "lead_id": lead_id,
                    "assignment_id": assignment_id,
                    "rep_id": rep_id,
                    "occurred_at": occurred_at.isoformat(),
                }
                for ord_, (kind, lead_id, assignment_id, rep_id, occurred_at) in enumerate(rows)
            ]
        )
        with connection.cursor() as cursor:
            cursor.execute(
                _INSERT_SQL, {"rows": document, "now": now, "status": OutboxStatus.PENDING}
            )


class OrmOutboxWriter:
    """The ORM's bulk insert (other databases)."""

    def insert(self, rows: Sequence[OutboxRow], *, now: datetime) -> None:
        OutboxMessage.objects.bulk_create(
            [
                OutboxMessage(
                    kind=kind,
                    lead_id=lead_id,
                    assignment_id=assignment_id,
                    rep_id=rep_id,
                    occurred_at=occurred_at,
                    next_attempt_at=now,
                    created_at=now,
                )
                for kind, lead_id, assignment_id, rep_id, occurred_at in rows
            ],
            ignore_conflicts=True,
        )


def outbox_writer_current() -> OutboxWriter:
    """The outbox writer for the current database connection."""
    return PostgresOutboxWriter() if connection.vendor == "postgresql" else OrmOutboxWriter()


__all__ = [
    "OrmOutboxWriter",
    "OutboxRow",
    "OutboxWriter",
    "PostgresOutboxWriter",
    "outbox_writer_current",
]
