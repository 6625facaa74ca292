"""The response-time figures in one statement: the overall figures with the histogram, each
owner's, and each day's, as the parts of one UNION ALL over the filtered leads.

Where the time goes at a million leads is the percentiles' sorts, not the scan, so each part
hands its percentiles their input already in order: the overall part reads the window's leads
ordered by response time and the per-owner part by (owner, response time), which the leads'
covering indexes ``lead_response_secs_idx`` and ``lead_owner_response_secs_idx`` return without
a sort (index-only), so ``percentile_cont``'s own sort finds its input sorted. On PostgreSQL each
day is read by its own range of the ``created_at`` index (a LATERAL join on the days' bounds in
the viewer's zone) rather than sorting the whole window by day; SQLite groups by day. The
percentiles stay exact: PostgreSQL's ``percentile_cont``, and the equivalent aggregate registered
on SQLite (apps/core/db.py); only the order in which rows arrive changes.
"""

from __future__ import annotations

from typing import Any

from django.db import connections
from django.db.models import QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from apps.core.db import SQLITE_PERCENTILE, seconds_between
from apps.dashboards.filtersets import DateWindow
from apps.leads.models import Lead

__all__ = ["DAILY", "OVERALL", "PER_OWNER", "response_time_rows"]

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


def response_time_rows(
    *, leads: QuerySet[Lead], window: DateWindow, buckets: Buckets
) -> list[dict[str, Any]]:
    """The rows of the one statement: ``part`` OVERALL (one row, with the counts ``b0``... of
    ``buckets``), PER_OWNER (``owner_id``; owned leads only) and DAILY (``day``: a date, or its
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
