"""Response-time counts maintained as leads are written (PostgreSQL), so the response-time
dashboard reads a few thousand counts instead of counting a quarter's leads at each request.

The counts are kept per local day (``TIME_ZONE``) of a lead's creation:

- ``dashboards_response_owner_day``: per (day, owner, NULL for no owner) the leads in each
  ResponseBucketGroup (``g0``, ``g1``...) and never contacted (``never``), and how many were
  first contacted by their SLA deadline (``within_sla``);
- ``dashboards_response_day_bucket``: per (day, ResponseBucket, NULL for never contacted) the
  leads: the overall figures and histogram, and each day's.

Nothing in the application writes them. A row trigger on ``leads_lead`` appends each change of
what they count (a lead's owner, creation time, first contact or SLA deadline; an insert; a
delete) to ``dashboards_response_change`` as the old values taken away (``sign`` -1) and the new
ones added (+1): an append, so concurrent writers never wait for one another on a hot counter
(every new lead is unowned and never contacted today). :func:`tally_fold` moves the appended
changes into the counts (beat runs it every minute); a reader adds the changes not folded yet
to the counts, in the same snapshot, so the figures are exact whenever they are read.

The day depends on the time zone: the counts record the zone they were made in, a reader
uses them only in that zone, and the next fold after ``TIME_ZONE`` changes counts again from
the leads (:func:`tally_rebuild`; meanwhile the dashboard counts the leads themselves).
``TRUNCATE leads_lead`` clears the counts.

On SQLite none of this exists: the dashboard sorts the window's leads instead.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import connections, transaction
from django.utils import timezone

from apps.core.db import RESPONSE_BUCKET_BOUNDS, RESPONSE_BUCKETS_PER_GROUP, response_bucket_sql

__all__ = [
    "GROUPS",
    "TALLY_INSTALL_SQL",
    "TALLY_REMOVE_SQL",
    "TallyRows",
    "tally_fold",
    "tally_leads_read",
    "tally_read",
    "tally_rebuild",
]

CHANGES = "dashboards_response_change"
OWNER_DAYS = "dashboards_response_owner_day"
DAY_BUCKETS = "dashboards_response_day_bucket"
STATE = "dashboards_response_tally"
#: ResponseBucketGroups: owner_day has a count per group, then the never contacted.
GROUPS = len(RESPONSE_BUCKET_BOUNDS) // RESPONSE_BUCKETS_PER_GROUP + 1
#: owner_day's counts (plain columns: summing 27k rows' array elements cost 20 ms a read).
_COUNTS = [f"g{group}" for group in range(GROUPS)] + ["never", "within_sla"]
#: pg_advisory_lock key of folds and rebuilds ("rptally").
LOCK_KEY = 0x7270_7461_6C6C_79

_COLUMNS = "owner_id, created_at, first_contacted_at, sla_due_at"

TALLY_INSTALL_SQL = f"""
CREATE TABLE {CHANGES} (
    owner_id bigint,
    created_at timestamptz NOT NULL,
    first_contacted_at timestamptz,
    sla_due_at timestamptz,
    sign smallint NOT NULL
);
CREATE TABLE {OWNER_DAYS} (
    day date NOT NULL,
    owner_id bigint,
    {", ".join(f"{count} integer NOT NULL" for count in _COUNTS)},
    CONSTRAINT {OWNER_DAYS}_key UNIQUE NULLS NOT DISTINCT (day, owner_id)
);
CREATE TABLE {DAY_BUCKETS} (
    day date NOT NULL,
    bucket smallint,
    leads integer NOT NULL,
    CONSTRAINT {DAY_BUCKETS}_key UNIQUE NULLS NOT DISTINCT (day, bucket)
);
CREATE TABLE {STATE} (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    zone text NOT NULL
);
CREATE FUNCTION {CHANGES}_append() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO {CHANGES} VALUES
            (NEW.owner_id, NEW.created_at, NEW.first_contacted_at, NEW.sla_due_at, 1);
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO {CHANGES} VALUES
            (OLD.owner_id, OLD.created_at, OLD.first_contacted_at, OLD.sla_due_at, -1);
    ELSE
        INSERT INTO {CHANGES} VALUES
            (OLD.owner_id, OLD.created_at, OLD.first_contacted_at, OLD.sla_due_at, -1),
            (NEW.owner_id, NEW.created_at, NEW.first_contacted_at, NEW.sla_due_at, 1);
    END IF;
    RETURN NULL;
END $$;
CREATE FUNCTION {CHANGES}_clear() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM {CHANGES};
    DELETE FROM {OWNER_DAYS};
    DELETE FROM {DAY_BUCKETS};
    RETURN NULL;
END $$;
CREATE TRIGGER lead_response_insert_delete AFTER INSERT OR DELETE ON leads_lead
    FOR EACH ROW EXECUTE FUNCTION {CHANGES}_append();
-- Only the updates that change what is counted (the WHEN test costs no function call).
CREATE TRIGGER lead_response_update AFTER UPDATE ON leads_lead FOR EACH ROW
    WHEN ((OLD.{_COLUMNS.replace(", ", ", OLD.")})
          IS DISTINCT FROM (NEW.{_COLUMNS.replace(", ", ", NEW.")}))
    EXECUTE FUNCTION {CHANGES}_append();
CREATE TRIGGER lead_response_truncate AFTER TRUNCATE ON leads_lead
    FOR EACH STATEMENT EXECUTE FUNCTION {CHANGES}_clear();
"""

TALLY_REMOVE_SQL = f"""
DROP TRIGGER lead_response_truncate ON leads_lead;
DROP TRIGGER lead_response_update ON leads_lead;
DROP TRIGGER lead_response_insert_delete ON leads_lead;
DROP FUNCTION {CHANGES}_clear();
DROP FUNCTION {CHANGES}_append();
DROP TABLE {STATE}, {DAY_BUCKETS}, {OWNER_DAYS}, {CHANGES};
"""


def _keyed(source: str) -> str:
    """The rows of ``source`` (the leads' counted columns and a sign) with their counting keys:
    the local day (parameter: the zone), the bucket and whether within SLA."""
    bucket = response_bucket_sql("c.first_contacted_at", "c.created_at")
    return (
        "SELECT c.owner_id, (c.created_at AT TIME ZONE %s)::date AS day,"
        f" {bucket} AS bucket, c.first_contacted_at <= c.sla_due_at AS within, c.sign"
        f" FROM {source} c"
    )


def _group_sums() -> str:
    """owner_day's counts from keyed rows: the signs summed per group, the never contacted,
    and those within SLA."""
    sums = [
        f"COALESCE(SUM(sign) FILTER (WHERE bucket / {RESPONSE_BUCKETS_PER_GROUP} = {group}), 0)::int"
        for group in range(GROUPS)
    ]
    sums.append("COALESCE(SUM(sign) FILTER (WHERE bucket IS NULL), 0)::int")
    sums.append("COALESCE(SUM(sign) FILTER (WHERE within), 0)::int")
    return ", ".join(sums)


def _add_sql(source: str) -> str:
    """Add the keyed rows of ``source`` (a data-modifying CTE named ``source`` may precede) to
    both tables of counts. Parameter: the zone."""
    columns = ", ".join(_COUNTS)
    added = ", ".join(f"{count} = o.{count} + EXCLUDED.{count}" for count in _COUNTS)
    return (
        f"keyed AS ({_keyed(source)}),"
        f" owners AS (INSERT INTO {OWNER_DAYS} AS o (day, owner_id, {columns})"
        f" SELECT day, owner_id, {_group_sums()} FROM keyed GROUP BY day, owner_id"
        f" ON CONFLICT ON CONSTRAINT {OWNER_DAYS}_key DO UPDATE SET {added})"
        f" INSERT INTO {DAY_BUCKETS} AS d (day, bucket, leads)"
        " SELECT day, bucket, SUM(sign) FROM keyed GROUP BY day, bucket"
        f" ON CONFLICT ON CONSTRAINT {DAY_BUCKETS}_key DO UPDATE SET leads = d.leads + EXCLUDED.leads"
    )


def _zone() -> str:
    return timezone.get_current_timezone_name()


def tally_fold(using: str = "default") -> int:
    """Move the appended changes into the counts; returns how many (day, bucket) counts they
    changed (or, after a rebuild, the leads counted). Counts
    made in another zone than the current one are made again instead (:func:`tally_rebuild`).
    A no-op on SQLite."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return 0
    with transaction.atomic(using=using), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
        cursor.execute(f"SELECT zone FROM {STATE}")
        made_in = cursor.fetchone()
        if made_in is not None and made_in[0] == _zone():
            # The changes committed before this statement began: the ones appended meanwhile
            # stay for the next fold (and every reader adds them until then).
            cursor.execute(
                f"WITH source AS (DELETE FROM {CHANGES} RETURNING {_COLUMNS}, sign),"
                + _add_sql("source"),
                [_zone()],
            )
            return cursor.rowcount
    return tally_rebuild(using)


def tally_rebuild(using: str = "default") -> int:
    """Count every lead again in the current zone, without stopping writers: in one statement
    (one snapshot), the counts are made from the leads and the changes that snapshot sees are
    dropped (they are in the leads); the changes committed after it stay to be folded. Returns
    the leads counted."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return 0
    with connection.cursor() as cursor:
        # Folds and rebuilds one at a time; taken before the snapshot, so the snapshot sees
        # whatever a fold before it did.
        cursor.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])
        try:
            with transaction.atomic(using=using):
                cursor.execute(f"DELETE FROM {OWNER_DAYS}")
                cursor.execute(f"DELETE FROM {DAY_BUCKETS}")
                # One statement, one snapshot: the changes it drops are those of the leads it
                # counts.
                cursor.execute(
                    f"WITH dropped AS (DELETE FROM {CHANGES}), "
                    + _add_sql(f"(SELECT {_COLUMNS}, 1 AS sign FROM leads_lead)"),
                    [_zone()],
                )
                cursor.execute("SELECT COALESCE(SUM(leads), 0) FROM " + DAY_BUCKETS)
                counted = int(cursor.fetchone()[0])
                cursor.execute(
                    f"INSERT INTO {STATE} (zone) VALUES (%s)"
                    " ON CONFLICT (one) DO UPDATE SET zone = EXCLUDED.zone",
                    [_zone()],
                )
        finally:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])
    return counted


#: (part, key, units, leads per unit, within SLA); part "owner" (key: owner id or None; units:
#: bucket groups, None for never contacted) or "day" (key: days since the first; units:
#: buckets).
TallyRows = list[tuple[str, Any, list[int | None], list[int], int]]


def tally_read(cursor: Any, *, first: date, last: date, low: Any, high: Any) -> TallyRows | None:
    """The counts of the days ``first`` to ``last`` (``low`` and ``high``: their bounds), the
    changes not folded yet included, in one statement; None when the counts are not of the
    current zone (or not made yet)."""
    units = ", ".join([*(str(group) for group in range(GROUPS)), "NULL"])
    sums = ", ".join(f"SUM({count})::int" for count in _COUNTS[:-1])
    sql = (
        f"WITH z AS (SELECT zone FROM {STATE} WHERE zone = %s),"
        f" pending AS ({_keyed(CHANGES)} WHERE c.created_at >= %s AND c.created_at < %s),"
        " owners AS ("
        f" SELECT owner_id, {', '.join(_COUNTS)} FROM {OWNER_DAYS} WHERE day BETWEEN %s AND %s"
        f" UNION ALL SELECT owner_id, {_group_sums()} FROM pending GROUP BY owner_id),"
        " days AS ("
        f" SELECT day, bucket, leads FROM {DAY_BUCKETS} WHERE day BETWEEN %s AND %s"
        " UNION ALL SELECT day, bucket, sign FROM pending)"
        f" SELECT 'owner', owner_id, ARRAY[{units}]::int[], ARRAY[{sums}], SUM(within_sla)::int"
        " FROM owners WHERE EXISTS (SELECT FROM z) GROUP BY owner_id"
        " UNION ALL SELECT 'day', d.day - %s::date, array_agg(d.bucket), array_agg(d.leads), 0"
        " FROM"
        " (SELECT day, bucket, SUM(leads)::int AS leads FROM days GROUP BY day, bucket) d"
        " WHERE EXISTS (SELECT FROM z) GROUP BY d.day"
        " UNION ALL SELECT 'zone', NULL, NULL, NULL, 0 FROM z"
    )
    zone = _zone()
    cursor.execute(sql, [zone, zone, low, high, first, last, first, last, first])
    rows = cursor.fetchall()
    if not any(row[0] == "zone" for row in rows):
        return None
    return [row for row in rows if row[0] != "zone"]


def tally_leads_read(
    cursor: Any, *, first: date, last: date, split: date, low: Any, high: Any
) -> tuple[int, int] | None:
    """The leads created on the days ``first`` to ``last`` (``low`` and ``high``: their
    bounds) and those of them created on ``split`` or after, from the counts (the changes not
    folded yet included), in one statement; None when the counts are not of the current zone."""
    sql = (
        f"WITH z AS (SELECT zone FROM {STATE} WHERE zone = %s),"
        f" x AS (SELECT day, leads FROM {DAY_BUCKETS} WHERE day BETWEEN %s AND %s"
        " UNION ALL SELECT (created_at AT TIME ZONE %s)::date, sign"
        f" FROM {CHANGES} WHERE created_at >= %s AND created_at < %s)"
        " SELECT EXISTS (SELECT FROM z), COALESCE(SUM(leads) FILTER (WHERE day >= %s), 0),"
        " COALESCE(SUM(leads), 0) FROM x"
    )
    zone = _zone()
    cursor.execute(sql, [zone, first, last, zone, low, high, split])
    current_zone, split_on, both = cursor.fetchone()
    return (int(split_on), int(both)) if current_zone else None
