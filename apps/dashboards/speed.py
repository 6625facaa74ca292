"""The response-time figures: the overall figures with the histogram, each owner's, and each
day's, all exact (the percentiles are PostgreSQL's ``percentile_cont``).

On PostgreSQL nothing is sorted by response time. Two statements:

1. Counts by bucket (apps.core.db.ResponseBucket: a bucket never decreases as the response time
   grows): per (owner, bucket), one index range per owner over the window's leads
   (``lead_owner_created_bucket_idx``: owner, creation time, bucket), so the cost follows the
   window and not the length of the history, and per (day, bucket group), one count per day
   and group from ``lead_bucket_group_created_idx``; both read the stored bucket back from the
   index instead of computing it (when a territory, source or rep filter narrows the leads, a
   plain grouping of them instead). The overall counts are the owners' summed.
2. From the counts, each percentile's rank falls in one bucket at a known offset; one statement
   reads exactly those values, each by ``ORDER BY seconds OFFSET k LIMIT 1`` within its bucket
   (a few dozen index entries each, not the window), and they are interpolated as
   ``percentile_cont`` does.

Sorting a quarter's leads per owner, per day and overall (the previous statement, kept below as
``response_time_rows_sorted`` for SQLite and as the reference the tests hold the bucketed one to)
took three ordered passes and an on-disk sort of the window at a million leads; counting takes
one index pass per grouping and a working set of a few thousand counts.
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
from apps.leads.models import Lead
from apps.reps.models import Rep

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
    counts = _bucket_counts_read(leads=leads, window=window, narrowed=narrowed)
    groups = counts.groups()
    exact = _exact_values_read(leads=leads, window=window, groups=groups)
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
    """Statement 1's rows: (part, key, [bucket...], [leads...], leads within SLA)."""

    rows: list[tuple[int, Any, list[int | None], list[int], int]]

    def groups(self) -> dict[tuple[int, Any], _Group]:
        groups: dict[tuple[int, Any], _Group] = {}
        overall: dict[int | None, int] = defaultdict(int)
        overall_within = 0
        for part, key, buckets, counts, within in self.rows:
            by_bucket = {
                bucket: count for bucket, count in zip(buckets, counts, strict=True) if count
            }
            if part == PER_OWNER:
                for bucket, count in by_bucket.items():
                    overall[bucket] += count
                overall_within += within
                if key is None:
                    continue  # the leads no one owns: only in the overall figures
            if by_bucket:
                groups[(part, key)] = _Group(by_bucket, within)
        groups[(OVERALL, None)] = _Group(overall, overall_within)
        return groups


def _bucketed(leads: QuerySet[Lead]) -> QuerySet[Lead]:
    secs = seconds_between("first_contacted_at", "created_at")
    bucket = ResponseBucket(secs)
    return leads.order_by().annotate(
        secs=secs, bucket=bucket, bucket_group=ResponseBucketGroup(bucket)
    )


def _bucket_counts_read(*, leads: QuerySet[Lead], window: DateWindow, narrowed: bool) -> _Counts:
    """Statement 1: leads and within-SLA counts per (owner, bucket) (owner NULL included, for
    the overall figures), and leads per (day, bucket group): ``key`` is the owner id or the
    day's index in ``window.days``; a day's "bucket" is a group of buckets."""
    bucketed = _bucketed(leads)
    leads_sql, leads_params = _sql(bucketed.values("created_at", "bucket_group"))
    bounds = [DateWindow(start=day, end=day).bounds() for day in window.days]
    if narrowed:
        # Few enough leads for one grouping, however the planner reads them.
        owner_sql, owner_params = _sql(
            bucketed.values("owner_id", "bucket").annotate(
                leads=Count("*"),
                within=Count("created_at", filter=Q(first_contacted_at__lte=F("sla_due_at"))),
            )
        )
    else:
        # Each owner's leads of the window by one index range (lead_owner_created_bucket_idx:
        # owner, creation time, bucket), so the cost follows the window, not the history;
        # then the leads no one owns.
        rows_sql, rows_params = _sql(
            bucketed.values("owner_id", "created_at", "bucket", "first_contacted_at", "sla_due_at")
        )
        counts = (
            "s.bucket, COUNT(*) AS leads,"
            " COUNT(*) FILTER (WHERE s.first_contacted_at <= s.sla_due_at) AS within"
        )
        reps = connections[leads.db].ops.quote_name(Rep._meta.db_table)
        owner_sql = (
            f"SELECT r.id AS owner_id, x.bucket, x.leads, x.within FROM {reps} r"
            f" CROSS JOIN LATERAL (SELECT {counts} FROM ({rows_sql}) s"
            " WHERE s.owner_id = r.id GROUP BY s.bucket) x"
            f" UNION ALL SELECT NULL, {counts} FROM ({rows_sql}) s"
            " WHERE s.owner_id IS NULL GROUP BY s.bucket"
        )
        owner_params = (*rows_params, *rows_params)
    if narrowed:
        # Few enough leads to hash: each lead's day by its place among the days' bounds.
        edges = [low for low, _ in bounds] + [bounds[-1][1]]
        day_sql = (
            f"SELECT {DAILY}, width_bucket(s.created_at, %s::timestamptz[]) - 1, s.bucket_group,"
            f" COUNT(*), 0 FROM ({leads_sql}) s GROUP BY 2, 3"
        )
        day_params: list[Any] = [edges, *leads_params]
    else:
        # One index range per day and bucket group (lead_bucket_group_created_idx), counted
        # index-only.
        days = ", ".join(["(%s, %s::timestamptz, %s::timestamptz)"] * len(bounds))
        groups = len(RESPONSE_BUCKET_BOUNDS) // RESPONSE_BUCKETS_PER_GROUP
        day_sql = (
            f"SELECT {DAILY}, d.n, x.bucket_group, x.leads, 0"
            f" FROM (VALUES {days}) AS d (n, low, high) CROSS JOIN LATERAL ("
            f"SELECT g.bucket_group, (SELECT COUNT(*) FROM ({leads_sql}) s"
            " WHERE s.bucket_group = g.bucket_group"
            " AND s.created_at >= d.low AND s.created_at < d.high) AS leads"
            f" FROM generate_series(0, {groups}) AS g (bucket_group)"
            " UNION ALL SELECT NULL,"
            f" (SELECT COUNT(*) FROM ({leads_sql}) s WHERE s.bucket_group IS NULL"
            " AND s.created_at >= d.low AND s.created_at < d.high)) AS x"
        )
        day_params = [value for n, (low, high) in enumerate(bounds) for value in (n, low, high)]
        day_params += [*leads_params, *leads_params]
    # One row per group, its counts as arrays (a few hundred rows, not tens of thousands).
    sql = (
        "SELECT c.part, c.key, array_agg(c.bucket), array_agg(c.leads), SUM(c.within)::bigint"
        f" FROM (SELECT {PER_OWNER} AS part, o.owner_id AS key, o.bucket, o.leads, o.within"
        f" FROM ({owner_sql}) o UNION ALL {day_sql}) c GROUP BY c.part, c.key"
    )
    with transaction.atomic(using=leads.db), connections[leads.db].cursor() as cursor:
        # JIT compiling costs more than it saves on a statement of this size (~40 ms of
        # ~200 at a million leads): off for this transaction only.
        cursor.execute("SELECT set_config('jit', 'off', true)")
        cursor.execute(sql, [*owner_params, *day_params])
        rows = cursor.fetchall()
    # (The empty (day, bucket group) counts come back too: dropping them in the statement
    # would have each counted twice.)
    return _Counts(rows=rows)


def _exact_values_read(
    *, leads: QuerySet[Lead], window: DateWindow, groups: Mapping[tuple[int, Any], _Group]
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
            "s.owner_id = t.key AND s.bucket = t.bucket",
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
    with connections[leads.db].cursor() as cursor:
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
