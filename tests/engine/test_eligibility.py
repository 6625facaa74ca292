"""Every eligibility reason, in the rep's time zone, with the exact sentence a manager reads."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from apps.engine import TimeOffPeriod

from .builders import UTC, config, hours, lead, load, rep, rule, run

WEEKDAYS = range(5)


def _why(
    rep_kw: dict[str, Any],
    *,
    rule_kw: dict[str, Any] | None = None,
    loads: list[Any] | None = None,
    now: datetime.datetime | None = None,
    the_lead: Any = None,
    **kw: Any,
) -> str | None:
    compiled = config(reps=[rep(1, **rep_kw)], rules=[rule(1, **(rule_kw or {}))])
    extra = {"now": now} if now is not None else {}
    d = run(compiled, the_lead, loads=loads or [], **extra, **kw)
    entry = d.trace["rules"][0]["candidates"][0]
    return None if entry["eligible"] else entry["why"]


def _code(rep_kw: dict[str, Any], **kw: Any) -> str:
    compiled = config(reps=[rep(1, **rep_kw)], rules=[rule(1, **kw.pop("rule_kw", {}))])
    d = run(compiled, kw.pop("the_lead", None), loads=kw.pop("loads", []), **kw)
    return str(d.trace["rules"][0]["candidates"][0]["code"])


@pytest.mark.parametrize(
    ("rep_kw", "kw", "code"),
    [
        ({}, {}, "eligible"),
        ({"active": False}, {}, "inactive"),
        ({}, {"loads": [load(1, away=True)]}, "away"),
        ({"max_open_leads": 0}, {}, "at_capacity_open"),
        ({"max_daily_leads": 0}, {}, "at_capacity_daily"),
        ({}, {"exclude_rep_ids": frozenset({1})}, "already_held"),
        (
            {
                "time_off": (
                    TimeOffPeriod(
                        starts_at=datetime.datetime(2026, 1, 1, tzinfo=UTC),
                        ends_at=datetime.datetime(2030, 1, 1, tzinfo=UTC),
                        reason="sick",
                    ),
                )
            },
            {},
            "time_off",
        ),
    ],
)
def test_every_candidate_carries_a_machine_code(
    rep_kw: dict[str, Any], kw: dict[str, Any], code: str
) -> None:
    """The edge renders words from the code: generic ones for reps, the sentence for managers."""
    assert _code(rep_kw, **kw) == code


def test_eligible_rep_has_no_reason() -> None:
    assert _why({}) is None


@pytest.mark.parametrize(
    ("rep_kw", "loads", "expected"),
    [
        ({"active": False}, [], "inactive"),
        ({}, [load(1, away=True)], "away"),
        ({"max_open_leads": 50}, [load(1, open_leads=50)], "at capacity 50/50 open leads"),
        ({"max_open_leads": 50}, [load(1, open_leads=49)], None),
        ({"max_daily_leads": 20}, [load(1, leads_today=20)], "daily cap reached 20/20"),
        ({"max_daily_leads": 0}, [], "daily cap reached 0/0"),
        ({"max_open_leads": 0}, [], "at capacity 0/0 open leads"),
    ],
)
def test_status_and_capacity(
    rep_kw: dict[str, Any], loads: list[Any], expected: str | None
) -> None:
    assert _why(rep_kw, loads=loads) == expected


def test_time_off() -> None:
    off = TimeOffPeriod(
        starts_at=datetime.datetime(2026, 3, 1, tzinfo=UTC),
        ends_at=datetime.datetime(2027, 1, 4, tzinfo=UTC),
        reason="vacation",
    )
    assert _why({"time_off": (off,)}) == "time off until 2027-01-04T00:00:00+00:00 (vacation)"
    assert (
        _why({"time_off": (off,)}, now=datetime.datetime(2027, 1, 4, tzinfo=UTC)) is None
    )  # end exclusive
    assert (
        _why({"time_off": (off,)}, now=datetime.datetime(2026, 2, 28, 23, 59, tzinfo=UTC)) is None
    )


HOURS_RULE = {"respect_working_hours": True}


@pytest.mark.parametrize(
    ("tz", "window", "now", "eligible"),
    [
        # 15:30 UTC Wednesday = 10:30 in New York: inside 09-17
        (
            "America/New_York",
            hours(WEEKDAYS, "09:00", "17:00"),
            datetime.datetime(2026, 3, 4, 15, 30, tzinfo=UTC),
            True,
        ),
        # 15:30 UTC = 00:30 Thursday in Tokyo: outside although UTC says office hours
        (
            "Asia/Tokyo",
            hours(WEEKDAYS, "09:00", "17:00"),
            datetime.datetime(2026, 3, 4, 15, 30, tzinfo=UTC),
            False,
        ),
        # 01:00 UTC Thursday = 10:00 Thursday in Tokyo
        (
            "Asia/Tokyo",
            hours(WEEKDAYS, "09:00", "17:00"),
            datetime.datetime(2026, 3, 5, 1, 0, tzinfo=UTC),
            True,
        ),
        # Saturday in Tokyo (Friday 16:00 UTC)
        (
            "Asia/Tokyo",
            hours(WEEKDAYS, "09:00", "17:00"),
            datetime.datetime(2026, 3, 6, 16, 0, tzinfo=UTC),
            False,
        ),
        # end exclusive, start inclusive
        (
            "UTC",
            hours(WEEKDAYS, "09:00", "17:00"),
            datetime.datetime(2026, 3, 4, 17, 0, tzinfo=UTC),
            False,
        ),
        (
            "UTC",
            hours(WEEKDAYS, "09:00", "17:00"),
            datetime.datetime(2026, 3, 4, 9, 0, tzinfo=UTC),
            True,
        ),
        # overnight window Mon-Fri 22:00-06:00: Saturday 03:00 belongs to Friday's night
        (
            "UTC",
            hours(WEEKDAYS, "22:00", "06:00"),
            datetime.datetime(2026, 3, 7, 3, 0, tzinfo=UTC),
            True,
        ),
        # ...but Monday 03:00 belongs to Sunday night, which is not worked
        (
            "UTC",
            hours(WEEKDAYS, "22:00", "06:00"),
            datetime.datetime(2026, 3, 2, 3, 0, tzinfo=UTC),
            False,
        ),
        (
            "UTC",
            hours(WEEKDAYS, "22:00", "06:00"),
            datetime.datetime(2026, 3, 4, 23, 0, tzinfo=UTC),
            True,
        ),
        (
            "UTC",
            hours(WEEKDAYS, "22:00", "06:00"),
            datetime.datetime(2026, 3, 4, 12, 0, tzinfo=UTC),
            False,
        ),
        # DST: 13:30 UTC on 2026-03-09 is 09:30 EDT (already switched), 08:30 the week before
        (
            "America/New_York",
            hours(WEEKDAYS, "09:00", "17:00"),
            datetime.datetime(2026, 3, 9, 13, 30, tzinfo=UTC),
            True,
        ),
        (
            "America/New_York",
            hours(WEEKDAYS, "09:00", "17:00"),
            datetime.datetime(2026, 3, 6, 13, 30, tzinfo=UTC),
            False,
        ),
    ],
)
def test_working_hours_in_the_reps_time_zone(
    tz: str, window: Any, now: datetime.datetime, eligible: bool
) -> None:
    why = _why({"time_zone": tz, "working_hours": (window,)}, rule_kw=HOURS_RULE, now=now)
    assert (why is None) is eligible, why


def test_outside_hours_sentence() -> None:
    why = _why(
        {"time_zone": "America/New_York", "working_hours": (hours(WEEKDAYS, "09:00", "17:00"),)},
        rule_kw=HOURS_RULE,
        now=datetime.datetime(2026, 3, 7, 15, 0, tzinfo=UTC),
    )
    assert why == "outside hours Mon-Fri 09:00-17:00 America/New_York (now Sat 10:00 there)"


def test_hours_ignored_unless_rule_respects_them_and_no_hours_means_any_time() -> None:
    late = datetime.datetime(2026, 3, 7, 3, 0, tzinfo=UTC)
    assert _why({"working_hours": (hours(WEEKDAYS, "09:00", "17:00"),)}, now=late) is None
    assert _why({}, rule_kw=HOURS_RULE, now=late) is None


def test_skill_and_language() -> None:
    the_lead = lead(country="US", region="US-CA", industry="Healthcare", language="DE")
    skill_rule = {"require_skill_from": "industry"}
    assert (
        _why({"skills": frozenset({"finance"})}, rule_kw=skill_rule, the_lead=the_lead)
        == "lacks skill 'healthcare'"
    )
    assert (
        _why({"skills": frozenset({"HealthCare"})}, rule_kw=skill_rule, the_lead=the_lead) is None
    )
    assert (
        _why(
            {"languages": frozenset({"en"})}, rule_kw={"require_language": True}, the_lead=the_lead
        )
        == "does not speak 'de'"
    )
    assert (
        _why(
            {"languages": frozenset({"en", "de"})},
            rule_kw={"require_language": True},
            the_lead=the_lead,
        )
        is None
    )
    # no value on the lead: no requirement
    bare = lead(country="US", region="US-CA")
    assert _why({}, rule_kw={**skill_rule, "require_language": True}, the_lead=bare) is None


def test_excluded_reps_already_held_the_lead() -> None:
    assert _why({}, exclude_rep_ids=frozenset({1})) == "already held this lead"
