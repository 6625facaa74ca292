"""Read side of the dashboards: every figure is aggregated by the database (a fixed, small
number of queries, whatever the number of leads).

Response time (speed to lead) is ``first_contacted_at - created_at`` (docs/API.md). A lead is
within SLA when its first contact came by its ``sla_due_at``; the share is over all leads in the
window, so a lead never contacted (or never assigned) counts against it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, TypedDict

from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from apps.core.db import PercentileCont, seconds_between
from apps.dashboards.filtersets import DateWindow
from apps.leads.models import Lead
from apps.reps.models import Rep

__all__ = ["BUCKETS", "ResponseTimeFigures", "response_time_report"]

#: Histogram buckets: (label, lower bound in seconds inclusive, upper bound exclusive).
BUCKETS: list[tuple[str, float | None, float | None]] = [
    ("<5 min", None, 300),
    ("5-15 min", 300, 900),
    ("15-60 min", 900, 3600),
    ("1-4 h", 3600, 4 * 3600),
    ("4-24 h", 4 * 3600, 24 * 3600),
    (">24 h", 24 * 3600, None),
]
NEVER = "never"


class ResponseTimeFigures(TypedDict):
    leads: int
    contacted: int
    median_seconds: float | None
    p90_seconds: float | None
    within_sla_rate: float | None


def _figures() -> dict[str, Any]:
    """The aggregates of one group of leads (overall, a rep's); ``secs`` is annotated."""
    return {
        "leads": Count("id"),
        "contacted": Count("id", filter=Q(first_contacted_at__isnull=False)),
        "within_sla": Count("id", filter=Q(first_contacted_at__lte=F("sla_due_at"))),
        "median_seconds": PercentileCont("secs", 0.5),
        "p90_seconds": PercentileCont("secs", 0.9),
    }


def _shape(row: Mapping[str, Any]) -> ResponseTimeFigures:
    leads = row["leads"] or 0
    return {
        "leads": leads,
        "contacted": row["contacted"] or 0,
        "median_seconds": _round(row["median_seconds"]),
        "p90_seconds": _round(row["p90_seconds"]),
        "within_sla_rate": round(row["within_sla"] / leads, 4) if leads else None,
    }


def _round(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 1)


def _bucket_q(low: float | None, high: float | None) -> Q:
    q = Q(first_contacted_at__isnull=False)
    if low is not None:
        q &= Q(secs__gte=low)
    if high is not None:
        q &= Q(secs__lt=high)
    return q


def response_time_report(
    *, leads: QuerySet[Lead], window: DateWindow, rep: Rep | None = None
) -> dict[str, Any]:
    """Speed to lead over ``leads`` (already filtered to the window and the other filters):
    overall, per rep (every active rep, or ``rep`` alone, also those with no leads), the
    histogram and the daily trend (every day of ``window``, empty days included). Four queries."""
    leads = leads.order_by().annotate(secs=seconds_between("first_contacted_at", "created_at"))

    buckets = {
        f"b{n}": Count("id", filter=_bucket_q(low, high))
        for n, (_, low, high) in enumerate(BUCKETS)
    }
    totals = leads.aggregate(
        **_figures(), **buckets, never=Count("id", filter=Q(first_contacted_at__isnull=True))
    )
    histogram = [
        {"bucket": label, "count": totals[f"b{n}"]} for n, (label, _, _) in enumerate(BUCKETS)
    ]
    histogram.append({"bucket": NEVER, "count": totals["never"]})

    by_owner = {
        row["owner_id"]: _shape(row)
        for row in leads.filter(owner__isnull=False).values("owner_id").annotate(**_figures())
    }
    reps = Rep.objects.select_related("user").order_by("user__username")
    reps = (
        reps.filter(pk=rep.pk)
        if rep is not None
        else reps.filter(Q(active=True) | Q(pk__in=list(by_owner)))
    )
    empty = _shape(
        {"leads": 0, "contacted": 0, "within_sla": 0, "median_seconds": None, "p90_seconds": None}
    )
    per_rep = [{"rep": r.user.username, "rep_id": r.pk, **by_owner.get(r.pk, empty)} for r in reps]

    daily_rows = {
        row["day"]: row
        for row in leads.annotate(
            day=TruncDate("created_at", tzinfo=timezone.get_current_timezone())
        )
        .values("day")
        .annotate(leads=Count("id"), median_seconds=PercentileCont("secs", 0.5))
    }
    daily = [_day(day, daily_rows.get(day)) for day in window.days]
    return {
        "window": {"start": window.start.isoformat(), "end": window.end.isoformat()},
        "overall": _shape(totals),
        "per_rep": per_rep,
        "histogram": histogram,
        "daily": daily,
    }


def _day(day: date, row: Mapping[str, Any] | None) -> dict[str, Any]:
    if row is None:
        return {"date": day.isoformat(), "leads": 0, "median_seconds": None}
    return {
        "date": day.isoformat(),
        "leads": row["leads"],
        "median_seconds": _round(row["median_seconds"]),
    }
