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

from django.db.models import Q, QuerySet

from apps.dashboards.filtersets import DateWindow
from apps.dashboards.speed import DAILY, OVERALL, PER_OWNER, response_time_rows
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
#: The filters besides the date window.
NARROWING_FILTERS = ("territory", "lead_source", "rep")


class ResponseTimeFigures(TypedDict):
    leads: int
    contacted: int
    median_seconds: float | None
    p90_seconds: float | None
    within_sla_rate: float | None


def _shape(row: Mapping[str, Any]) -> ResponseTimeFigures:
    leads = row["leads"] or 0
    return {
        "leads": leads,
        "contacted": row["contacted"] or 0,
        "median_seconds": _round(row["median"]),
        "p90_seconds": _round(row["p90"]),
        "within_sla_rate": round(row["within_sla"] / leads, 4) if leads else None,
    }


def _round(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 1)


def response_time_report(
    *,
    leads: QuerySet[Lead],
    window: DateWindow,
    rep: Rep | None = None,
    filters: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Speed to lead over ``leads`` (already filtered to the window and the other filters):
    overall, per rep (every active rep, or ``rep`` alone, also those with no leads), the
    histogram and the daily trend (every day of ``window``, empty days included). The figures
    take one statement on SQLite and two on PostgreSQL (apps/dashboards/speed.py), then the reps
    are read. ``filters`` (the filter form's data) tells whether anything but the window
    narrows the leads; unknown (None) is taken as narrowed."""
    narrowed = filters is None or any(filters.get(name) for name in NARROWING_FILTERS)
    rows = response_time_rows(leads=leads, window=window, buckets=BUCKETS, narrowed=narrowed)
    totals = next(r for r in rows if r["part"] == OVERALL)
    by_owner = {r["owner_id"]: _shape(r) for r in rows if r["part"] == PER_OWNER}
    daily_rows = {_iso(r["day"]): r for r in rows if r["part"] == DAILY}

    histogram = [
        {"bucket": label, "count": totals[f"b{n}"] or 0} for n, (label, _, _) in enumerate(BUCKETS)
    ]
    histogram.append({"bucket": NEVER, "count": totals["leads"] - totals["contacted"]})

    reps = Rep.objects.select_related("user").order_by("user__username")
    reps = (
        reps.filter(pk=rep.pk)
        if rep is not None
        else reps.filter(Q(active=True) | Q(pk__in=list(by_owner)))
    )
    empty = _shape({"leads": 0, "contacted": 0, "within_sla": 0, "median": None, "p90": None})
    per_rep = [{"rep": r.user.username, "rep_id": r.pk, **by_owner.get(r.pk, empty)} for r in reps]
    return {
        "window": {"start": window.start.isoformat(), "end": window.end.isoformat()},
        "overall": _shape(totals),
        "per_rep": per_rep,
        "histogram": histogram,
        "daily": [_day(day, daily_rows.get(day.isoformat())) for day in window.days],
    }


def _iso(day: date | str) -> str:
    """A day as the database gives it back: a date (PostgreSQL) or its ISO text (SQLite)."""
    return day if isinstance(day, str) else day.isoformat()


def _day(day: date, row: Mapping[str, Any] | None) -> dict[str, Any]:
    if row is None or not row["leads"]:
        return {"date": day.isoformat(), "leads": 0, "median_seconds": None}
    return {"date": day.isoformat(), "leads": row["leads"], "median_seconds": _round(row["median"])}
