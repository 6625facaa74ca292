"""The SLA clock: deadlines in wall-clock or working time (no database)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apps.engine import RepProfile, TimeOffPeriod, WorkingWindow
from apps.routing.sla_clock import sla_deadline


def test_business_hours_deadline_pauses_at_night_weekends_and_time_off():
    la = ZoneInfo("America/Los_Angeles")
    rep = RepProfile(
        rep_id=1,
        username="alice",
        time_zone="America/Los_Angeles",
        working_hours=(
            WorkingWindow(
                weekdays=frozenset({0, 1, 2, 3, 4}),
                start=datetime.strptime("09:00", "%H:%M").time(),
                end=datetime.strptime("17:00", "%H:%M").time(),
            ),
        ),
    )
    friday = datetime(2025, 3, 14, 16, 50, tzinfo=la)
    assert sla_deadline(start=friday, minutes=30, rep=rep, business_hours=True) == datetime(
        2025, 3, 17, 9, 20, tzinfo=la
    )
    assert sla_deadline(
        start=friday, minutes=30, rep=rep, business_hours=False
    ) == friday + timedelta(minutes=30)
    sunday = datetime(2025, 3, 16, 12, 0, tzinfo=la)
    assert sla_deadline(start=sunday, minutes=60, rep=rep, business_hours=True) == datetime(
        2025, 3, 17, 10, 0, tzinfo=la
    )
    monday_off = RepProfile(
        **{**{f: getattr(rep, f) for f in ("rep_id", "username", "time_zone", "working_hours")}},
        time_off=(
            TimeOffPeriod(
                starts_at=datetime(2025, 3, 17, 9, 0, tzinfo=la),
                ends_at=datetime(2025, 3, 17, 12, 0, tzinfo=la),
            ),
        ),
    )
    assert sla_deadline(start=friday, minutes=30, rep=monday_off, business_hours=True) == datetime(
        2025, 3, 17, 12, 20, tzinfo=la
    )
    anytime = RepProfile(rep_id=2, username="bob")
    assert sla_deadline(
        start=friday, minutes=30, rep=anytime, business_hours=True
    ) == friday + timedelta(minutes=30)
