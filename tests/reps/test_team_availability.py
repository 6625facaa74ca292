"""Who takes no new leads right now (the managers' team view)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from apps.reps.selectors import rep_team_availability, time_off_list_upcoming
from tests.factories import RepFactory, TimeOffFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2031, 3, 10, 6, 0, tzinfo=UTC)  # 10 March in UTC, still 9 March in Los Angeles


def _by_name() -> dict[str, object]:
    return {row.rep.username: row for row in rep_team_availability(now=NOW)}


def test_away_time_off_and_capacity() -> None:
    RepFactory(user__username="free")
    RepFactory(user__username="away", away=True)
    RepFactory(user__username="gone", active=False)
    off = RepFactory(user__username="off")
    TimeOffFactory(rep=off, starts_at=NOW - timedelta(hours=1), ends_at=NOW + timedelta(hours=1))
    later = RepFactory(user__username="later")
    TimeOffFactory(rep=later, starts_at=NOW + timedelta(days=1), ends_at=NOW + timedelta(days=2))
    RepFactory(user__username="full", max_open_leads=3, open_leads_count=3)
    rows = _by_name()
    assert set(rows) == {"free", "away", "off", "later", "full"}
    assert rows["free"].available and rows["later"].available
    assert rows["away"].away and not rows["away"].available
    assert rows["off"].time_off is not None and not rows["off"].available
    assert rows["full"].at_capacity == "3 of 3 open leads"


def test_daily_cap_counts_in_the_reps_own_day() -> None:
    # Yesterday's count in Los Angeles is still today there at 06:00 UTC.
    RepFactory(
        user__username="la",
        time_zone="America/Los_Angeles",
        max_daily_leads=2,
        assigned_today=2,
        assigned_today_date=date(2031, 3, 9),
    )
    RepFactory(
        user__username="berlin",
        time_zone="Europe/Berlin",
        max_daily_leads=2,
        assigned_today=2,
        assigned_today_date=date(2031, 3, 9),
    )
    rows = _by_name()
    assert rows["la"].at_capacity == "2 of 2 leads today"
    assert rows["berlin"].available  # a new day in Berlin


def test_upcoming_time_off_leaves_out_what_ended() -> None:
    rep = RepFactory()
    past = TimeOffFactory(
        rep=rep, starts_at=NOW - timedelta(days=3), ends_at=NOW - timedelta(days=2)
    )
    current = TimeOffFactory(
        rep=rep, starts_at=NOW - timedelta(hours=1), ends_at=NOW + timedelta(hours=1)
    )
    assert list(time_off_list_upcoming(rep=rep, now=NOW)) == [current]
    assert past.pk


def test_working_hours_set_replaces_and_refuses_a_day_twice() -> None:
    from datetime import time

    from django.core.exceptions import ValidationError

    from apps.configuration.availability import rep_working_hours_set
    from tests.factories import WorkingHoursFactory

    rep = RepFactory()
    WorkingHoursFactory(rep=rep, weekdays=[0, 1, 2, 3, 4])
    rep_working_hours_set(rep=rep, windows=[([5, 6], time(10), time(14))], actor=rep.user)
    assert [(w.weekdays, w.start) for w in rep.working_hours.all()] == [([5, 6], time(10))]
    with pytest.raises(ValidationError):
        rep_working_hours_set(
            rep=rep, windows=[([0], time(9), time(12)), ([0], time(13), time(17))], actor=rep.user
        )
    with pytest.raises(ValidationError):
        rep_working_hours_set(rep=rep, windows=[([7], time(9), time(12))], actor=rep.user)
    assert [w.weekdays for w in rep.working_hours.all()] == [[5, 6]]
