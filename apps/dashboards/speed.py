"""The response-time figures: the overall figures with the histogram, each owner's, and each
day's, all exact (the percentiles are PostgreSQL's ``percentile_cont``).

On PostgreSQL nothing is sorted by response time. Two statements, in one snapshot:

1. Counts by bucket (apps.core.db.ResponseBucket: a bucket never decreases as the response time
   grows): per (owner, bucket group), per (day, bucket) and within SLA per owner, read from the
   counts PostgreSQL maintains as leads are written (apps/dashboards/tally.py: a few thousand
   rows for a quarter, whatever the number of leads); when a territory, source or rep filter
   narrows the leads (or those counts are being made again), a plain grouping of the leads
   per (owner, bucket) and per (day, bucket group) instead.
2. From the counts, each percentile's rank falls in one bucket (or group) at a known offset;
   one statement reads exactly those values, each by ``ORDER BY seconds OFFSET k LIMIT n``
   within its bucket or group (``lead_owner_bucket_idx`` for an owner's,
   ``lead_bucket_group_created_idx`` for a day's or the window's: a few hundred index entries
   each, not the window), and they are interpolated as ``percentile_cont`` does.

Sorting a quarter's leads per owner, per day and overall (the previous statement, kept below as
``response_time_rows_sorted`` for SQLite and as the reference the tests hold the bucketed one to)
took three ordered passes and an on-disk sort of the window at a million leads; counting the
window's leads at each request took two index passes over it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import connections, transaction
from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from apps.core.db import (
    RESPONSE_BUCKET_BOUNDS,
    RESPONSE_BUCKETS_PER_GROUP,
    SQLITE_PERCENTILE,
    ResponseBucket,
    ResponseBucketGroup,
    seconds_between,
)
from apps.dashboards.filtersets import DateWindow
from apps.dashboards.tally import TallyRows, tally_read
from apps.leads.models import Lead

__all__ = ["DAILY", "OVERALL", "PER_OWNER", "response_time_rows", "response_time_rows_sorted"]

OVERALL, PER_OWNER, DAILY = 0, 1, 2
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
    """The figures by sorting, in one statement (SQLite; on PostgreSQL the tests' reference).

    The rows: ``part`` OVERALL (one row, with the counts ``b0``... of ``buckets``), PER_OWNER (``owner_id``; owned leads only) and DAILY (``day``: a date, or its
    ISO text on SQLite; on PostgreSQL every day of the window, on SQLite the days with leads).
    Each has ``leads``, ``contacted``, ``within_sla``, ``median`` and ``p90`` (NULL where the part
    has none)."""
    connection = connections[leads.db]
    vendor = connection.vendor
    zone = timezone.get_current_timezone()
    rows = (
        leads.order_by()
        .annotate(secs=seconds_between("first_contacted_at", "created_at"))
        .values("owner_id", "created_at", "first_contacted_at", "sla_due_at", "secs")
    )
    median, p90 = _percentile(vendor, 0.5), _percentile(vendor, 0.9)
    figures = [
        "COUNT(*)",
        "COUNT(s.secs)",
        "COUNT(CASE WHEN s.first_contacted_at <= s.sla_due_at THEN 1 END)",
        median,
        p90,
    ]
    no_buckets = ["NULL"] * len(buckets)
    overall_sql, overall_params = _sql(rows.order_by("secs"))
    owner_sql, owner_params = _sql(rows.filter(owner__isnull=False).order_by("owner_id", "secs"))
    parts = [
        _select(
            OVERALL,
            figures=figures,
            buckets=_bucket_counts(buckets),
            source=f"({overall_sql}) s",
        ),
        _select(
            PER_OWNER,
            owner="s.owner_id",
            figures=figures,
            buckets=no_buckets,
            source=f"({owner_sql}) s",
            group_by="s.owner_id",
        ),
    ]
    params = [*overall_params, *owner_params]
    daily_figures = ["COUNT(*)", "NULL", "NULL", median, "NULL"]
    if vendor == "postgresql":
        all_sql, all_params = _sql(rows)
        days = ", ".join(["(%s::date, %s::timestamptz, %s::timestamptz)"] * len(window.days))
        nulls = ", ".join(no_buckets)
        parts.append(
            f"SELECT {DAILY}, NULL, d.day, x.leads, NULL, NULL, x.median, NULL, {nulls}"
            f" FROM (VALUES {days}) AS d (day, low, high) CROSS JOIN LATERAL"
            f" (SELECT COUNT(*) AS leads, {median} AS median FROM ({all_sql}) s"
            " WHERE s.created_at >= d.low AND s.created_at < d.high) AS x"
        )
        for day in window.days:
            params += [day, *DateWindow(start=day, end=day).bounds()]
        params += all_params
    else:
        daily_sql, daily_params = _sql(
            rows.annotate(day=TruncDate("created_at", tzinfo=zone)).values("day", "secs")
        )
        parts.append(
            _select(
                DAILY,
                day="s.day",
                figures=daily_figures,
                buckets=no_buckets,
                source=f"({daily_sql}) s",
                group_by="s.day",
            )
        )
        params += daily_params
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


FRACTIONS = (0.5, 0.9)


def response_time_rows(
    *, leads: QuerySet[Lead], window: DateWindow, buckets: Buckets, narrowed: bool = True
) -> list[dict[str, Any]]:
    """The rows of :func:`response_time_rows_sorted` (same parts, columns and figures; DAILY has
    the days with leads). ``narrowed=False`` says the leads are the window's and nothing else
    (no territory, source or rep filter): the days are then counted from the bucket index."""
    if connections[leads.db].vendor != "postgresql":
        return response_time_rows_sorted(leads=leads, window=window, buckets=buckets)
    connection = connections[leads.db]
    # Both statements in one snapshot, so the values looked up are the ones counted (inside a
    # caller's transaction, that transaction's).
    consistent = not connection.in_atomic_block
    with transaction.atomic(using=leads.db), connection.cursor() as cursor:
        if consistent:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        # JIT compiling costs more than it saves on statements of this size: off for this
        # transaction only.
        cursor.execute("SELECT set_config('jit', 'off', true)")
        counts = _bucket_counts_read(cursor, leads=leads, window=window, narrowed=narrowed)
        groups = counts.groups()
        exact = _exact_values_read(
            cursor, leads=leads, window=window, groups=groups, owner_width=counts.owner_width
        )
    rows = []
    for (part, key), group in groups.items():
        values = exact.get((part, key), {})
        median, p90 = (group.percentile(fraction, values) for fraction in FRACTIONS)
        row: dict[str, Any] = {
            "part": part,
            "owner_id": key if part == PER_OWNER else None,
            "day": window.days[key] if part == DAILY else None,
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
    """Statement 1's counts: per owner (None: no owner) by ``owner_width`` consecutive buckets
    (1: buckets; RESPONSE_BUCKETS_PER_GROUP: bucket groups) with the leads within SLA, per day
    (its index in the window's days) by bucket group, and overall by bucket."""

    owners: dict[int | None, tuple[dict[int | None, int], int]]
    owner_width: int
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


def _bucket_counts_read(
    cursor: Any, *, leads: QuerySet[Lead], window: DateWindow, narrowed: bool
) -> _Counts:
    """Statement 1: the counts, from the counts maintained as leads are written
    (apps/dashboards/tally.py) when nothing but the window narrows the leads, else (or when
    those counts are being made again) by grouping the leads."""
    if not narrowed:
        low, high = window.bounds()
        tallied = tally_read(cursor, first=window.start, last=window.end, low=low, high=high)
        if tallied is not None:
            return _tallied_counts(tallied)
    return _grouped_counts(cursor, leads=leads, window=window)


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
    return _Counts(
        owners=owners, owner_width=RESPONSE_BUCKETS_PER_GROUP, days=days, overall=dict(overall)
    )


def _grouped_counts(cursor: Any, *, leads: QuerySet[Lead], window: DateWindow) -> _Counts:
    """Leads and within-SLA counts per (owner, bucket) (owner NULL included, for the overall
    figures) and leads per (day, bucket group), by grouping the leads (few enough once a
    territory, source or rep narrows them); each lead's day by its place among the days'
    bounds."""
    bucketed = _bucketed(leads)
    owner_sql, owner_params = _sql(
        bucketed.values("owner_id", "bucket").annotate(
            leads=Count("*"),
            within=Count("created_at", filter=Q(first_contacted_at__lte=F("sla_due_at"))),
        )
    )
    leads_sql, leads_params = _sql(bucketed.values("created_at", "bucket_group"))
    bounds = [DateWindow(start=day, end=day).bounds() for day in window.days]
    edges = [low for low, _ in bounds] + [bounds[-1][1]]
    # One row per group, its counts as arrays (a few hundred rows, not tens of thousands).
    cursor.execute(
        f"SELECT {PER_OWNER}, o.owner_id, array_agg(o.bucket), array_agg(o.leads),"
        f" SUM(o.within)::bigint FROM ({owner_sql}) o GROUP BY o.owner_id"
        f" UNION ALL SELECT {DAILY}, d.day, array_agg(d.bucket_group), array_agg(d.leads), 0"
        " FROM (SELECT width_bucket(s.created_at, %s::timestamptz[]) - 1 AS day,"
        f" s.bucket_group, COUNT(*) AS leads FROM ({leads_sql}) s GROUP BY 1, 2) d GROUP BY d.day",
        [*owner_params, edges, *leads_params],
    )
    owners: dict[int | None, tuple[dict[int | None, int], int]] = {}
    days: dict[int, dict[int | None, int]] = {}
    overall: dict[int | None, int] = defaultdict(int)
    for part, key, units, counts, within in cursor.fetchall():
        by_unit = _nonzero(units, counts)
        if part == PER_OWNER:
            owners[key] = (by_unit, within)
            for bucket, count in by_unit.items():
                overall[bucket] += count
        else:
            days[key] = by_unit
    return _Counts(owners=owners, owner_width=1, days=days, overall=dict(overall))


def _exact_values_read(
    cursor: Any,
    *,
    leads: QuerySet[Lead],
    window: DateWindow,
    groups: Mapping[tuple[int, Any], _Group],
    owner_width: int,
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
            "s.owner_id = t.key AND s.bucket = t.bucket"
            if owner_width == 1
            else f"s.owner_id = t.key AND s.bucket BETWEEN t.bucket * {owner_width}"
            f" AND t.bucket * {owner_width} + {owner_width - 1}",
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
