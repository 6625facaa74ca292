"""The one rule that moves a rep's load counters (no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from apps.routing.counters import RepCounters


def counters(**kwargs) -> RepCounters:  # type: ignore[no-untyped-def]
    values = {
        "rep_id": 1,
        "time_zone": "America/Los_Angeles",
        "away": False,
        "open_leads": 0,
        "assigned_today": 0,
        "assigned_today_date": None,
        "last_assigned_at": None,
    }
    return RepCounters(**{**values, **kwargs})


def test_a_take_counts_one_more_open_lead_and_one_more_today_in_the_reps_time_zone():
    # 06:00 UTC on 3 March is still 2 March in Los Angeles.
    now = datetime(2026, 3, 3, 6, 0, tzinfo=UTC)
    rep = counters(open_leads=2, assigned_today=4, assigned_today_date=date(2026, 3, 2))
    rep.take(now)
    assert (rep.open_leads, rep.assigned_today, rep.assigned_today_date) == (
        3,
        5,
        date(2026, 3, 2),
    )
    assert rep.last_assigned_at == now and rep.changed
    assert rep.load(now).leads_today == 5


def test_a_take_on_a_new_local_day_starts_the_day_count_again():
    now = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)  # 3 March in Los Angeles
    rep = counters(open_leads=2, assigned_today=4, assigned_today_date=date(2026, 3, 2))
    assert rep.load(now).leads_today == 0
    rep.take(now)
    assert (rep.assigned_today, rep.assigned_today_date) == (1, date(2026, 3, 3))


def test_a_release_never_goes_below_zero():
    rep = counters(open_leads=1)
    rep.release()
    assert (rep.open_leads, rep.changed) == (0, True)
    idle = counters(open_leads=0)
    idle.release()
    assert (idle.open_leads, idle.changed) == (0, False)
