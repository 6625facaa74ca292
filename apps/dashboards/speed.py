"""The response-time figures: the overall figures with the histogram, each owner's, and each
day's, all exact (the percentiles are PostgreSQL's ``percentile_cont``).

Over the window's leads (no territory, source or rep filter), PostgreSQL sorts nothing. Two
statements, in one snapshot:

1. Counts by bucket (apps.core.db.ResponseBucket: a bucket never decreases as the response time
   grows): per (owner, bucket group) with the leads within SLA, and per (day, bucket), read
   from the counts PostgreSQL maintains as leads are written (apps/dashboards/tally.py: a few
   tens of thousands of counts for a quarter, whatever the number of leads).
2. From the counts, each percentile's rank falls in one bucket (or group) at a known offset;
   one statement reads exactly those values, each by ``ORDER BY seconds OFFSET k LIMIT n``
   within its bucket or group (``lead_owner_bucket_idx`` for an owner's,
   ``lead_bucket_group_created_idx`` for a day's or the window's: a few hundred index entries
   each, not the window), and they are interpolated as ``percentile_cont`` does.

When a filter narrows the leads (and on SQLite, and for the minute after ``TIME_ZONE``
changes, while the counts are made again), one statement reads the leads once and sorts them
(``response_time_rows_sorted``, also the reference the tests hold the counted figures to): at a
million leads, a territory's or a source's quarter takes a few hundred milliseconds. Counting
the window's leads at each request took two index passes over it (2.5x the dashboards'
reference at a million leads); sorting it, three ordered passes and an on-disk sort.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import connections, transaction
from django.db.models import QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from apps.core.db import (
    RESPONSE_BUCKET_BOUNDS,
    RESPONSE_BUCKETS_PER_GROUP,
    SQLITE_PERCENTILE,
    ResponseBucket,
    ResponseBucketGroup,
    read_side_cursor,
    read_side_planning,
    seconds_between,
)
from apps.dashboards.filtersets import DateWindow
from apps.dashboards.tally import TallyRows, tally_read
from apps.leads.models import Lead

__all__ = ["DAILY", "OVERALL", "PER_OWNER", "response_time_rows", "response_time_rows_sorted"]

OVERALL, PER_OWNER, DAILY = 0, 1, 2
FRACTIONS = (0.5, 0.9)
Buckets = list[tuple[str, float | None, float | None]]


def _percentile(vendor: str, fraction: float) -> str:
    if vendor == "postgresql":
        return f"percentile_cont({fraction!r}) WITHIN GROUP (ORDER BY s.secs)"
    return f"{SQLITE_PERCENTILE}(s.secs, {fraction!r})"


def _bucket_counts(buckets: Buckets) -> list[str]:
    counts = []
    for low, high in ((low, high) for _, low, high in buckets):
        bounds = ["s.secs IS NOT NULL"]
        bounds += [f"s.secs >= {float(low)!r}"] if low is not None else []
        bounds += [f"s.secs < {float(high)!r}"] if high is not None else []
        counts.append(f"COUNT(CASE WHEN {' AND '.join(bounds)} THEN 1 END)")
    return counts


def _select(
    part: int,
    *,
    # Typed, so that PostgreSQL resolves the UNION's column types from the first part on.
    owner: str = "CAST(NULL AS bigint)",
    day: str = "CAST(NULL AS date)",
    figures: list[str],
    buckets: list[str],
    source: str,
    group_by: str = "",
) -> str:
    """One part of the UNION ALL; every part has the same columns."""
    columns = [str(part), owner, day, *figures, *buckets]
    names = ["part", "owner_id", "day", "leads", "contacted", "within_sla", "median", "p90"]
    names += [f"b{n}" for n in range(len(buckets))]
    select = ", ".join(f"{c} AS {n}" for c, n in zip(columns, names, strict=True))
    return f"SELECT {select} FROM {source}{f' GROUP BY {group_by}' if group_by else ''}"


def _sql(queryset: QuerySet[Any]) -> tuple[str, tuple[Any, ...]]:
    sql, params = queryset.query.sql_with_params()
    return sql, tuple(params)


def response_time_rows_sorted(
    *, leads: QuerySet[Lead], window: DateWindow, buckets: Buckets
) -> list[dict[str, Any]]:
    """The figures by sorting, in one statement that reads the leads once: SQLite's path, and
    PostgreSQL's when a territory, source or rep filter narrows the leads (and the tests'
    reference for the counted path).

    The rows: ``part`` OVERALL (one row, with the counts ``b0``... of ``buckets``), PER_OWNER
    (``owner_id``; owned leads only) and DAILY (``day``: a date, or its ISO text on SQLite; the
    days with leads). Each has ``leads``, ``contacted``, ``within_sla``, ``median`` and ``p90``
    (NULL where the part has none; a day has its leads and median only)."""
    connection = connections[leads.db]
    rows_sql, params = _sql(
        leads.order_by()
        .annotate(
            secs=seconds_between("first_contacted_at", "created_at"),
            day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()),
        )
        .values("owner_id", "day", "first_contacted_at", "sla_due_at", "secs")
    )
    median, p90 = (_percentile(connection.vendor, fraction) for fraction in FRACTIONS)
    figures = [
        "COUNT(*)",
        "COUNT(s.secs)",
        "COUNT(CASE WHEN s.first_contacted_at <= s.sla_due_at THEN 1 END)",
        median,
        p90,
    ]
    no_buckets = ["NULL"] * len(buckets)
    parts = [
        _select(OVERALL, figures=figures, buckets=_bucket_counts(buckets), source="s"),
        _select(
            PER_OWNER,
            owner="s.owner_id",
            figures=figures,
            buckets=no_buckets,
            source="s WHERE s.owner_id IS NOT NULL",
            group_by="s.owner_id",
        ),
        _select(
            DAILY,
            day="s.day",
            figures=["COUNT(*)", "NULL", "NULL", median, "NULL"],
            buckets=no_buckets,
            source="s",
            group_by="s.day",
        ),
    ]
    # The leads read once (MATERIALIZED), then each part sorts only the few columns it needs.
    sql = f"WITH s AS MATERIALIZED ({rows_sql}) " + " UNION ALL ".join(parts)
    with read_side_cursor(leads.db) as cursor:
        cursor.execute(sql, params)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def response_time_rows(
    *, leads: QuerySet[Lead], window: DateWindow, buckets: Buckets, narrowed: bool = True
) -> list[dict[str, Any]]:
    """The rows of :func:`response_time_rows_sorted` (same parts, columns and figures).
    ``narrowed=False`` says the leads are the window's and nothing else (no territory, source
    or rep filter): on PostgreSQL the figures then come from the maintained counts."""
    connection = connections[leads.db]
    if connection.vendor != "postgresql" or narrowed:
        return response_time_rows_sorted(leads=leads, window=window, buckets=buckets)
    # Both statements in one snapshot, so the values looked up are the ones counted (inside a
    # caller's transaction, that transaction's).
    consistent = not connection.in_atomic_block
    with transaction.atomic(using=leads.db), connection.cursor() as cursor:
        if consistent:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        read_side_planning(cursor)
        low, high = window.bounds()
        tallied = tally_read(cursor, first=window.start, last=window.end, low=low, high=high)
        if tallied is None:  # being counted again after TIME_ZONE changed
            return response_time_rows_sorted(leads=leads, window=window, buckets=buckets)
        groups = _tallied_counts(tallied).groups()
        exact = _exact_values_read(cursor, leads=leads, window=window, groups=groups)
    rows, days = [], window.days
    for (part, key), group in groups.items():
        values = exact.get((part, key), {})
        median, p90 = (group.percentile(fraction, values) for fraction in FRACTIONS)
        row: dict[str, Any] = {
            "part": part,
            "owner_id": key if part == PER_OWNER else None,
            "day": days[key] if part == DAILY else None,
            "leads": group.leads,
            # A day has its leads and median only (as the sorting statement).
            "contacted": group.contacted if part != DAILY else None,
            "within_sla": group.within_sla if part != DAILY else None,
            "median": median,
            "p90": p90 if part != DAILY else None,
        }
        shown = _histogram(group, buckets) if part == OVERALL else [None] * len(buckets)
        row.update({f"b{n}": count for n, count in enumerate(shown)})
        rows.append(row)
    return rows


class _Group:
    """One group's counts: leads per bucket (``None``: never contacted) and within SLA."""

    def __init__(self, leads_by_bucket: Mapping[int | None, int], within_sla: int) -> None:
        self.leads_by_bucket = dict(leads_by_bucket)
        self.within_sla = within_sla
        self.leads = sum(self.leads_by_bucket.values())
        self.contacted = self.leads - self.leads_by_bucket.get(None, 0)

    def ranks(self) -> dict[float, tuple[int, int, float]]:
        """percentile_cont's two neighbouring ranks (0-based) and the weight between them, for
        each fraction; none for a group with no response time."""
        if not self.contacted:
            return {}
        ranks = {}
        for fraction in FRACTIONS:
            position = fraction * (self.contacted - 1)
            low, high = math.floor(position), math.ceil(position)
            ranks[fraction] = (low, high, position - low)
        return ranks

    def located(self, ranks: Iterable[int]) -> dict[int, tuple[int, int]]:
        """Each rank's bucket and its offset within the bucket: the buckets are in order of
        response time, so a rank is the number of values in the buckets before it plus the
        offset."""
        wanted = sorted(set(ranks))
        located: dict[int, tuple[int, int]] = {}
        before = 0
        for bucket in sorted(b for b in self.leads_by_bucket if b is not None):
            count = self.leads_by_bucket[bucket]
            while wanted and wanted[0] < before + count:
                rank = wanted.pop(0)
                located[rank] = (bucket, rank - before)
            before += count
        return located

    def percentile(self, fraction: float, values: Mapping[int, float]) -> float | None:
        """percentile_cont(fraction), as PostgreSQL interpolates it (apps.core.db)."""
        ranks = self.ranks()
        if fraction not in ranks:
            return None
        low, high, weight = ranks[fraction]
        if low not in values or high not in values:
            return None  # a day's p90: never asked for
        return values[low] + (values[high] - values[low]) * weight


@dataclass
class _Counts:
    """Statement 1's counts: per owner (None: no owner) by bucket group with the leads within
    SLA, per day (its index in the window's days) by bucket group, and overall by bucket."""

    owners: dict[int | None, tuple[dict[int | None, int], int]]
    days: dict[int, dict[int | None, int]]
    overall: dict[int | None, int]

    def groups(self) -> dict[tuple[int, Any], _Group]:
        groups = {
            (PER_OWNER, owner): _Group(by_unit, within)
            for owner, (by_unit, within) in self.owners.items()
            if owner is not None and any(by_unit.values())
        }
        groups.update(
            {(DAILY, day): _Group(by_group, 0) for day, by_group in self.days.items() if by_group}
        )
        within = sum(within for _, within in self.owners.values())
        groups[(OVERALL, None)] = _Group(self.overall, within)
        return groups


def _nonzero(units: Iterable[int | None], counts: Iterable[int]) -> dict[int | None, int]:
    return {unit: count for unit, count in zip(units, counts, strict=True) if count}


def _group_of(bucket: int | None) -> int | None:
    return None if bucket is None else bucket // RESPONSE_BUCKETS_PER_GROUP


def _bucketed(leads: QuerySet[Lead]) -> QuerySet[Lead]:
    secs = seconds_between("first_contacted_at", "created_at")
    bucket = ResponseBucket(secs)
    return leads.order_by().annotate(
        secs=secs, bucket=bucket, bucket_group=ResponseBucketGroup(bucket)
    )


def _tallied_counts(rows: TallyRows) -> _Counts:
    owners: dict[int | None, tuple[dict[int | None, int], int]] = {}
    days: dict[int, dict[int | None, int]] = {}
    overall: dict[int | None, int] = defaultdict(int)
    for part, key, units, counts, within in rows:
        by_unit = _nonzero(units, counts)
        if part == "owner":
            owners[key] = (by_unit, within)
            continue
        by_group: dict[int | None, int] = defaultdict(int)
        for bucket, count in by_unit.items():
            overall[bucket] += count
            by_group[_group_of(bucket)] += count
        days[key] = dict(by_group)
    return _Counts(owners=owners, days=days, overall=dict(overall))


def _exact_values_read(
    cursor: Any,
    *,
    leads: QuerySet[Lead],
    window: DateWindow,
    groups: Mapping[tuple[int, Any], _Group],
) -> dict[tuple[int, Any], dict[int, float]]:
    """Statement 2: the response time at each rank the percentiles need, by group: each run of
    consecutive ranks looked up within its bucket (``ORDER BY seconds OFFSET k LIMIT n``: a
    percentile's two neighbouring ranks are one lookup), so only that bucket's index entries
    of that group are read."""
    leads_sql, leads_params = _sql(
        _bucketed(leads).values("owner_id", "created_at", "bucket", "bucket_group", "secs")
    )
    bounds = [DateWindow(start=day, end=day).bounds() for day in window.days]
    targets: dict[int, list[list[Any]]] = {OVERALL: [], PER_OWNER: [], DAILY: []}
    for (part, key), group in groups.items():
        fractions = FRACTIONS[:1] if part == DAILY else FRACTIONS
        ranks = (
            [rank for f in fractions for rank in group.ranks()[f][:2]] if group.contacted else []
        )
        runs: list[list[int]] = []  # [first rank, bucket, offset, how many]
        for rank, (bucket, offset) in sorted(group.located(ranks).items()):
            last = runs[-1] if runs else None
            if last is not None and last[1] == bucket and last[2] + last[3] == offset:
                last[3] += 1
            else:
                runs.append([rank, bucket, offset, 1])
        for run in runs:
            target: list[Any] = list(run)
            if part == PER_OWNER:
                target.append(key)
            elif part == DAILY:
                target += [*bounds[key], key]
            targets[part].append(target)
    lookup = (
        "CROSS JOIN LATERAL (SELECT array_agg(v.secs ORDER BY v.secs) AS secs FROM"
        f" (SELECT s.secs FROM ({leads_sql}) s WHERE {{where}}"
        " ORDER BY s.secs OFFSET t.off LIMIT t.n) v) x"
    )
    # Owners' and the overall ranks are located by bucket, days' by bucket group; the overall
    # lookups name the bucket's group too, for the index that holds it.
    shapes = {
        OVERALL: (
            "%s::int[], %s::int[], %s::int[], %s::int[]",
            "rank, bucket, off, n",
            "NULL::bigint",
            f"s.bucket_group = t.bucket / {RESPONSE_BUCKETS_PER_GROUP} AND s.bucket = t.bucket",
        ),
        PER_OWNER: (
            "%s::int[], %s::int[], %s::int[], %s::int[], %s::bigint[]",
            "rank, bucket, off, n, key",
            "t.key",
            f"s.owner_id = t.key AND s.bucket BETWEEN t.bucket * {RESPONSE_BUCKETS_PER_GROUP}"
            f" AND t.bucket * {RESPONSE_BUCKETS_PER_GROUP} + {RESPONSE_BUCKETS_PER_GROUP - 1}",
        ),
        DAILY: (
            "%s::int[], %s::int[], %s::int[], %s::int[], %s::timestamptz[], %s::timestamptz[],"
            " %s::bigint[]",
            "rank, bucket, off, n, low, high, key",
            "t.key",
            "s.bucket_group = t.bucket AND s.created_at >= t.low AND s.created_at < t.high",
        ),
    }
    parts, params = [], []
    for part, rows in targets.items():
        if not rows:
            continue
        arrays, names, key, where = shapes[part]
        parts.append(
            f"SELECT {part}, {key}, t.rank, x.secs FROM unnest({arrays}) AS t ({names})"
            f" {lookup.format(where=where)}"
        )
        # One array per column (a few parameters, whatever the number of lookups).
        params += [list(column) for column in zip(*rows, strict=True)] + list(leads_params)
    exact: dict[tuple[int, Any], dict[int, float]] = defaultdict(dict)
    if not parts:
        return exact
    cursor.execute(" UNION ALL ".join(parts), params)
    for part, key, first, values in cursor.fetchall():
        for n, secs in enumerate(values):
            exact[(part, key)][first + n] = secs
    return exact


def _histogram(group: _Group, buckets: Buckets) -> list[int]:
    """The histogram's bars from the group's buckets: each bar's bounds are bucket bounds."""
    shown = []
    for _, low, high in buckets:
        for bound in (low, high):
            if bound is not None and float(bound) not in RESPONSE_BUCKET_BOUNDS:
                raise ValueError(f"{bound} s is not a ResponseBucket bound")
        total = 0
        for bucket, count in group.leads_by_bucket.items():
            if bucket is None:
                continue
            lower = RESPONSE_BUCKET_BOUNDS[bucket - 1] if bucket > 0 else -math.inf
            upper = (
                RESPONSE_BUCKET_BOUNDS[bucket] if bucket < len(RESPONSE_BUCKET_BOUNDS) else math.inf
            )
            if (low is None or lower >= low) and (high is None or upper <= high):
                total += count
        shown.append(total)
    return shown
