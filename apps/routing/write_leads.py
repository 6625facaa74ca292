"""The lead writer: saves a batch of new leads built by intake (`lead_build`), for the import.

Two implementations behind one interface, chosen in apps.routing.writers: one PostgreSQL
statement fed by a JSON document (`jsonb_to_recordset`), whose `ON CONFLICT DO NOTHING` on the
key's unique index lets a race with another import lose quietly; and the ORM's `bulk_create`
elsewhere, inside the caller's savepoint (a lost race raises IntegrityError there). The ORM spent
most of its time preparing each value and dumping them as arrays (bench/import.py); the JSON
document is built by the json module in C.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any, Protocol

from django.db import connection
from django.utils import timezone

from apps.leads.models import Lead


class LeadWriter(Protocol):
    """Inserts unsaved leads; returns each one's new id, or None where its key was taken.

    `insert_rows` takes the leads as attribute values (apps.routing.intake.lead_rows)."""

    def insert(self, leads: Sequence[Lead]) -> list[int | None]: ...

    def insert_rows(self, rows: Sequence[dict[str, Any]]) -> list[int | None]: ...


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


@cache
def _insert_sql() -> tuple[str, tuple[str, ...]]:
    """The statement and the attributes it reads from each lead, in order."""
    fields = [field for field in Lead._meta.concrete_fields if not field.primary_key]
    columns = ", ".join(connection.ops.quote_name(str(field.column)) for field in fields)
    record = ", ".join(
        f"{connection.ops.quote_name(field.attname)} {field.db_type(connection)}"
        for field in fields
    )
    table = connection.ops.quote_name(Lead._meta.db_table)
    sql = (
        f"INSERT INTO {table} ({columns}) "
        f"SELECT {', '.join(connection.ops.quote_name(f.attname) for f in fields)} "
        f"FROM jsonb_to_recordset(%s::jsonb) AS r({record}) "
        # The key's partial unique index: a key another import saved meanwhile is skipped.
        "ON CONFLICT (external_id, submitted_by_id) WHERE external_id IS NOT NULL DO NOTHING "
        "RETURNING id, external_id"
    )
    return sql, tuple(field.attname for field in fields)


class PostgresLeadWriter:
    """One statement for the whole batch."""

    def insert(self, leads: Sequence[Lead]) -> list[int | None]:
        now = timezone.now()
        for lead in leads:
            lead.updated_at = now  # auto_now, which the ORM would have set
        _, attnames = _insert_sql()
        ids = self._insert([{name: getattr(lead, name) for name in attnames} for lead in leads])
        for lead, pk in zip(leads, ids, strict=True):
            if pk is not None:
                lead.pk = pk
                lead._state.adding = False
                lead._state.db = connection.alias
        return ids

    def insert_rows(self, rows: Sequence[dict[str, Any]]) -> list[int | None]:
        now = timezone.now()  # auto_now, which the ORM would have set
        return self._insert([{**row, "updated_at": now} for row in rows])

    @staticmethod
    def _insert(rows: Sequence[dict[str, Any]]) -> list[int | None]:
        """Insert `rows` (every column's attribute): each one's new id, None if its key was taken."""
        if not rows:
            return []
        sql, attnames = _insert_sql()
        document = json.dumps(
            [{name: row[name] for name in attnames} for row in rows], default=_json_value
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [document])
            ids = dict((key, pk) for pk, key in cursor.fetchall())
        return [ids.get(row["external_id"]) for row in rows]


class OrmLeadWriter:
    """The ORM's bulk insert (other databases)."""

    def insert(self, leads: Sequence[Lead]) -> list[int | None]:
        saved = Lead.objects.bulk_create(leads)
        return [lead.pk for lead in saved]

    def insert_rows(self, rows: Sequence[dict[str, Any]]) -> list[int | None]:
        return self.insert([Lead(**row) for row in rows])


__all__ = ["LeadWriter", "OrmLeadWriter", "PostgresLeadWriter"]
