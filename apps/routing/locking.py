"""Row locks, always taken in one global order so writers queue instead of deadlocking.

Every writer (routing, a reroute, a manual move, the SLA sweep, a close) locks, in this order:

1. lead rows (one lead, a batch in id order, or a sweep page), skipping rows another writer
   holds where it can come back later;
2. the rules' rotation rows, in rule id order: those of the rules the transaction's leads could
   use (`apps.engine.rules_matching`: every rule with a rotation cursor whose conditions a lead
   meets), for a routing batch and a sweep page alike; up front, so a lead falling back to a
   later rule needs no further rule lock. Rules deciding by load alone (load balanced, account
   owner) have no cursor and take no rule lock;
3. rep rows, in rep id order, never before a rule row: routing locks the reps it picked (and
   the owners a reroute releases; a re-plan takes a rep below one it holds only with
   `skip_locked`, a rule row after a rep row only with `nowait`: never waiting out of order); a sweep page, in one statement, every rep the matching
   rules' pools could hand one of its leads to (`apps.engine.reps_reachable`) and the leads'
   current owners; a manual move its two reps.

Two routing transactions, or routing and a sweep, then wait on each other at the first row they
share rather than each holding what the other needs, and only when their leads can share a rule's
rotation or a rep: leads of different territories' rules route (and sweep) in parallel.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, date
from functools import cache

from django.db import connection
from django.db.models import Q

from apps.engine import RotationState
from apps.leads.models import OPEN_STATUSES, Lead, LeadStatus
from apps.reps.models import Rep
from apps.routing.counters import RepCounters
from apps.routing.models import RotationState as RotationStateRow
from apps.routing.selectors import VERSION_LATEST_SQL
from apps.rules.models import RoutingRule

# --- 1. lead rows -------------------------------------------------------------------------


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


def lead_lock(lead_id: int) -> Lead:
    """Lock the lead; `open_original_id` names an older open lead with the same email, if any."""
    for lead in Lead.objects.raw(_lead_lock_sql(connection.vendor), [lead_id]):
        return lead
    raise Lead.DoesNotExist(f"Lead {lead_id} does not exist.")


def waiting_leads_lock(*, besides: int, limit: int) -> list[Lead]:
    """Lock up to `limit` other `new` leads, oldest first, that no other transaction holds."""
    if limit <= 0:
        return []
    sql = _lead_lock_sql(connection.vendor, waiting=True)
    return list(Lead.objects.raw(sql, [besides, limit]))


def leads_lock(lead_ids: Sequence[int]) -> list[Lead]:
    """Lock these leads (id order), skipping those another transaction holds."""
    sql = _lead_lock_sql(connection.vendor, many=True)
    ids = list(lead_ids) if connection.vendor == "postgresql" else json.dumps(list(lead_ids))
    return list(Lead.objects.raw(sql, [ids]))


def leads_lock_matching(
    lead_ids: list[int], condition: Q, *, order: tuple[str, ...], fields: Sequence[str]
) -> list[Lead]:
    """These leads that still match `condition`, row-locked, with only `fields` read; rows
    another transaction holds are skipped (a sweep page)."""
    return list(
        Lead.objects.select_for_update(skip_locked=True)
        .filter(condition, pk__in=lead_ids)
        .only(*fields)
        .order_by(*order)
    )


# --- 2. rotation rows ---------------------------------------------------------------------


def rotations_lock(rule_ids: Iterable[int], *, nowait: bool = False) -> dict[int, RotationState]:
    """Lock the rules' rotation rows, in rule order, creating a rule's row on its first
    assignment (a rule deleted meanwhile gets none); return their cursors.

    `nowait`: for a rule row needed out of the global order (after a rep row, or after a higher
    rule id: only when the configuration changed mid-transaction): fail at once with a database
    error (the transaction rolls back and its caller retries) rather than wait, since waiting
    there could deadlock."""
    ids = sorted(set(rule_ids))
    if not ids:
        return {}
    table = RotationStateRow._meta.db_table
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    if lock and nowait:
        lock += " NOWAIT"
    marks = ", ".join(["%s"] * len(ids))
    sql = f"SELECT rule_id, data FROM {table} WHERE rule_id IN ({marks}) ORDER BY rule_id{lock}"
    with connection.cursor() as cursor:
        cursor.execute(sql, ids)
        rows = cursor.fetchall()
        missing = sorted(set(ids) - {row[0] for row in rows})
        if missing:
            existing = set(RoutingRule.objects.filter(pk__in=missing).values_list("pk", flat=True))
            RotationStateRow.objects.bulk_create(
                [RotationStateRow(rule_id=rule_id) for rule_id in missing if rule_id in existing],
                ignore_conflicts=True,
            )
            cursor.execute(sql.replace(marks, ", ".join(["%s"] * len(missing))), missing)
            rows += cursor.fetchall()
    return {
        rule_id: RotationState(
            rule_id=rule_id, data=(json.loads(data) if isinstance(data, str) else data) or {}
        )
        for rule_id, data in sorted(rows)
    }


# --- 3. rep rows --------------------------------------------------------------------------


def rep_counters_lock(
    rep_ids: Iterable[int] | None = None, *, skip_locked: bool = False
) -> dict[int, RepCounters]:
    """Lock these reps' rows (every rep's with None), in id order, and read their counters.

    `skip_locked`: for reps below one the transaction already holds (a re-plan picked them):
    only those no other transaction holds are locked and returned, without waiting, since
    waiting out of order could deadlock. Plain SQL because routing locks its picked reps for
    every batch.
    """
    sql = (
        "SELECT id, time_zone, away, open_leads_count, assigned_today, assigned_today_date,"
        f" last_assigned_at FROM {Rep._meta.db_table}"
    )
    params: list[int] = []
    if rep_ids is not None:
        params = sorted(set(rep_ids))
        if not params:
            return {}
        sql += f" WHERE id IN ({', '.join(['%s'] * len(params))})"
    sql += " ORDER BY id"
    if connection.features.has_select_for_update:
        sql += " FOR UPDATE SKIP LOCKED" if skip_locked else " FOR UPDATE"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    counters: dict[int, RepCounters] = {}
    for rep_id, tz, away, open_count, today, today_date, last_at in rows:
        if isinstance(today_date, str):  # SQLite without a declared-type converter
            today_date = date.fromisoformat(today_date)
        if last_at is not None and last_at.tzinfo is None:  # SQLite keeps UTC, naive
            last_at = last_at.replace(tzinfo=UTC)
        counters[rep_id] = RepCounters(
            rep_id=rep_id,
            time_zone=tz,
            away=bool(away),
            open_leads=open_count,
            assigned_today=today,
            assigned_today_date=today_date,
            last_assigned_at=last_at,
        )
    return counters


__all__ = [
    "lead_lock",
    "leads_lock",
    "leads_lock_matching",
    "rep_counters_lock",
    "rotations_lock",
    "waiting_leads_lock",
]
