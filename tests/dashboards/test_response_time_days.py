"""The daily trend's days are the viewer's, also across a daylight-saving change (PostgreSQL
reads each day by its own bounds, SQLite groups by the local date: both must agree), and the
one-statement figures agree with a plain per-group computation."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone

from apps.core.db import percentile_cont
from apps.dashboards.filtersets import DateWindow
from apps.dashboards.selectors import response_time_report
from apps.leads.models import Lead
from tests.factories import LeadFactory, RepFactory

pytestmark = pytest.mark.django_db


def _lead(rep, created: datetime, seconds: int) -> None:  # type: ignore[no-untyped-def]
    LeadFactory(
        owner=rep,
        status="contacted",
        created_at=created,
        assigned_at=created,
        sla_due_at=created + timedelta(hours=1),
        first_contacted_at=created + timedelta(seconds=seconds),
    )


def test_days_in_the_viewers_zone_across_a_dst_change() -> None:
    rep = RepFactory()
    # New York springs forward on 2026-03-08: that day has 23 hours.
    _lead(rep, datetime(2026, 3, 8, 4, 30, tzinfo=UTC), 60)  # 03-07 23:30 EST
    _lead(rep, datetime(2026, 3, 8, 5, 30, tzinfo=UTC), 120)  # 03-08 00:30 EST
    _lead(rep, datetime(2026, 3, 9, 3, 30, tzinfo=UTC), 240)  # 03-08 23:30 EDT
    _lead(rep, datetime(2026, 3, 9, 4, 30, tzinfo=UTC), 480)  # 03-09 00:30 EDT
    window = DateWindow(date(2026, 3, 7), date(2026, 3, 9))
    with timezone.override("America/New_York"):
        low, high = window.bounds()
        leads = Lead.objects.filter(created_at__gte=low, created_at__lt=high)
        daily = response_time_report(leads=leads, window=window)["daily"]
    assert daily == [
        {"date": "2026-03-07", "leads": 1, "median_seconds": 60.0},
        {"date": "2026-03-08", "leads": 2, "median_seconds": 180.0},
        {"date": "2026-03-09", "leads": 1, "median_seconds": 480.0},
    ]


def test_the_statement_matches_a_per_group_computation() -> None:
    reps = [RepFactory(), RepFactory(), RepFactory()]
    seconds = [7, 95, 310, 1200, 3599, 3600, 8000, 40000, 86399, 90000, 13, 640]
    expected: dict[int, list[float]] = {r.pk: [] for r in reps}
    for n, secs in enumerate(seconds):
        rep = reps[n % 3]
        _lead(rep, datetime(2026, 3, 1 + n % 2, 8 + n, tzinfo=UTC), secs)
        expected[rep.pk].append(float(secs))
    window = DateWindow(date(2026, 3, 1), date(2026, 3, 2))
    low, high = window.bounds()
    report = response_time_report(
        leads=Lead.objects.filter(created_at__gte=low, created_at__lt=high), window=window
    )
    for row in report["per_rep"]:
        values = expected[row["rep_id"]]
        assert row["leads"] == len(values)
        assert row["median_seconds"] == round(percentile_cont(values, 0.5), 1)  # type: ignore[arg-type]
        assert row["p90_seconds"] == round(percentile_cont(values, 0.9), 1)  # type: ignore[arg-type]
    assert report["overall"]["median_seconds"] == round(percentile_cont(seconds, 0.5), 1)  # type: ignore[arg-type]
    assert report["overall"]["p90_seconds"] == round(percentile_cont(seconds, 0.9), 1)  # type: ignore[arg-type]
