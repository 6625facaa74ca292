"""The SLA clock: when an assignment falls due, in wall-clock or working time.

Pure arithmetic over the compiled configuration: no query, no lock. Routing asks it for a new
assignment's deadline; the sweep asks it whether a deadline or a reminder point has come.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings

from apps.engine import Decision, RepProfile
from apps.engine.eligibility import compile_rep
from apps.routing.selectors import CurrentConfig

_DAY_SECONDS = 24 * 3600
#: A business-hours deadline further than this is treated as "never": fall back to wall clock.
_MAX_BUSINESS_DAYS = 366

#: Beat starts the sweep on the minute, give or take milliseconds, and a lead the previous sweep
#: moved falls due exactly one SLA window after that sweep: a hair after the tick that should
#: catch it. Deadlines this close count as reached, so such a lead does not wait a whole extra
#: minute (and get its reminder at its deadline); nothing is moved or reminded more than this early.
SWEEP_CLOCK_TOLERANCE = timedelta(seconds=1)


def sla_minutes_or_default(sla_minutes: int | None) -> int:
    """A rule's SLA window, else ROUTING_DEFAULT_SLA_MINUTES."""
    return sla_minutes if sla_minutes is not None else settings.ROUTING_DEFAULT_SLA_MINUTES


def sla_due_at(*, now: datetime, sla_minutes: int | None) -> datetime:
    """The wall-clock deadline of an assignment made at `now`."""
    return now + timedelta(minutes=sla_minutes_or_default(sla_minutes))


def sla_deadline(
    *, start: datetime, minutes: int, rep: RepProfile | None, business_hours: bool | None = None
) -> datetime:
    """When `minutes` of SLA time starting at `start` run out.

    Wall clock unless `ROUTING_SLA_BUSINESS_HOURS` (or `business_hours`): then only the rep's
    working hours count (a rep without working hours works any time) and time off pauses it.
    """
    if business_hours is None:
        business_hours = settings.ROUTING_SLA_BUSINESS_HOURS
    wall = start + timedelta(minutes=minutes)
    if not business_hours or rep is None or (not rep.working_hours and not rep.time_off):
        return wall
    tz = ZoneInfo(rep.time_zone)
    compiled = compile_rep(rep, tz)
    off = sorted((p.starts_at, p.ends_at) for p in rep.time_off)
    remaining = timedelta(minutes=minutes)
    local_day = start.astimezone(tz).date()
    for _ in range(_MAX_BUSINESS_DAYS):
        midnight = datetime.combine(local_day, time.min, tzinfo=tz)
        intervals = (
            ((0, _DAY_SECONDS),) if compiled.hours is None else compiled.hours[local_day.weekday()]
        )
        for first, last in intervals:
            span_start = max(midnight + timedelta(seconds=first), start)
            span_end = midnight + timedelta(seconds=last)
            for piece_start, piece_end in _minus_time_off(span_start, span_end, off):
                if piece_end - piece_start >= remaining:
                    return piece_start + remaining
                remaining -= piece_end - piece_start
        local_day += timedelta(days=1)
    return wall


def _minus_time_off(
    start: datetime, end: datetime, off: list[tuple[datetime, datetime]]
) -> Iterator[tuple[datetime, datetime]]:
    cursor = start
    for off_start, off_end in off:
        if off_end <= cursor or off_start >= end:
            continue
        if off_start > cursor:
            yield cursor, off_start
        cursor = max(cursor, off_end)
        if cursor >= end:
            return
    if cursor < end:
        yield cursor, end


def rule_sla_business_hours(config: CurrentConfig, rule_id: int | None) -> bool:
    """The rule's own choice to count working hours only, else ROUTING_SLA_BUSINESS_HOURS."""
    for rule in config.snapshot.rules:
        if rule.rule_id == rule_id and rule.sla_business_hours is not None:
            return rule.sla_business_hours
    return bool(settings.ROUTING_SLA_BUSINESS_HOURS)


def rule_sla_minutes(config: CurrentConfig, rule_id: int | None) -> int:
    """The rule's SLA window in minutes, else ROUTING_DEFAULT_SLA_MINUTES."""
    rule = (
        next((r for r in config.snapshot.rules if r.rule_id == rule_id), None) if rule_id else None
    )
    if rule is not None and rule.sla_minutes is not None:
        return int(rule.sla_minutes)
    return int(settings.ROUTING_DEFAULT_SLA_MINUTES)


def assignment_due(
    *,
    config: CurrentConfig,
    decision: Decision,
    rep_id: int,
    now: datetime,
    profiles: Mapping[int, RepProfile] | None = None,
) -> datetime:
    """SLA deadline of an assignment `decision` makes at `now` to `rep_id`: wall clock, or the
    rep's working time when the rule (or ROUTING_SLA_BUSINESS_HOURS) says so. `profiles`: the
    configuration's reps by id, when the caller holds them."""
    if not rule_sla_business_hours(config, decision.rule_id):
        return sla_due_at(now=now, sla_minutes=decision.sla_minutes)
    if profiles is not None:
        profile = profiles.get(rep_id)
    else:
        profile = next((r for r in config.snapshot.reps if r.rep_id == rep_id), None)
    return sla_deadline(
        start=now,
        minutes=sla_minutes_or_default(decision.sla_minutes),
        rep=profile,
        business_hours=True,
    )


def due_by(now: datetime) -> datetime:
    """Deadlines up to this moment count as reached by a sweep as of `now`."""
    return now + SWEEP_CLOCK_TOLERANCE


def reminder_due(
    *, assigned_at: datetime | None, sla_due_at: datetime | None, now: datetime
) -> bool:
    """Whether the reminder point (ROUTING_SLA_REMINDER_FRACTION of the window) has come."""
    if assigned_at is None or sla_due_at is None:
        return False
    fraction = settings.ROUTING_SLA_REMINDER_FRACTION
    return assigned_at + (sla_due_at - assigned_at) * fraction <= due_by(now)


__all__ = [
    "SWEEP_CLOCK_TOLERANCE",
    "assignment_due",
    "due_by",
    "reminder_due",
    "rule_sla_business_hours",
    "rule_sla_minutes",
    "sla_deadline",
    "sla_due_at",
    "sla_minutes_or_default",
]
