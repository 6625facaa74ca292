"""Whether a rep can take a lead right now, and if not, why: a machine code and a sentence.

The code (:class:`Why`) lets the edge render the words for its audience: managers read the
sentence, everyone else a generic phrase per code. Neither ever holds free text typed by a
person (a time-off reason is a code, its note never reaches the engine).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import NamedTuple
from zoneinfo import ZoneInfo

from .types import RepLoad, RepProfile, WorkingWindow

__all__ = [
    "CompiledRep",
    "EligibilityContext",
    "Ineligible",
    "Why",
    "compile_rep",
    "format_hours",
]


class Why:
    """The machine codes of a trace candidate's ``code`` (API.md "Routing configuration")."""

    ELIGIBLE = "eligible"
    ALREADY_HELD = "already_held"
    INACTIVE = "inactive"
    AWAY = "away"
    TIME_OFF = "time_off"
    AT_CAPACITY_OPEN = "at_capacity_open"
    AT_CAPACITY_DAILY = "at_capacity_daily"
    OUTSIDE_HOURS = "outside_hours"
    MISSING_SKILL = "missing_skill"
    MISSING_LANGUAGE = "missing_language"
    WEIGHT_ZERO = "weight_zero"
    ASSIGNED_ANYWAY = "assigned_anyway"


class Ineligible(NamedTuple):
    """Why a rep cannot take the lead: ``code`` from :class:`Why`, ``text`` for managers.

    A named tuple, not a frozen dataclass: one is built per refused candidate on the hot path,
    and a tuple is several times cheaper to build.
    """

    code: str
    text: str


_ALREADY_HELD = Ineligible(Why.ALREADY_HELD, "already held this lead")
_INACTIVE = Ineligible(Why.INACTIVE, "inactive")
_AWAY = Ineligible(Why.AWAY, "away")

_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_DAY = 86400


def _seconds(t: datetime.time) -> int:
    return t.hour * 3600 + t.minute * 60 + t.second


def _weekday_ranges(days: frozenset[int]) -> str:
    """{0,1,2,3,4} -> "Mon-Fri"; {0,2,5} -> "Mon,Wed,Sat"."""
    ordered = sorted(d for d in days if 0 <= d <= 6)
    parts: list[str] = []
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        if j - i >= 2:
            parts.append(f"{_DAY_NAMES[ordered[i]]}-{_DAY_NAMES[ordered[j]]}")
        else:
            parts.extend(_DAY_NAMES[d] for d in ordered[i : j + 1])
        i = j + 1
    return ",".join(parts)


def format_hours(windows: tuple[WorkingWindow, ...], time_zone: str) -> str:
    """E.g. "Mon-Fri 09:00-17:00 America/New_York"."""
    text = ", ".join(
        f"{_weekday_ranges(w.weekdays)} {w.start:%H:%M}-{w.end:%H:%M}" for w in windows
    )
    return f"{text} {time_zone}"


def _compile_hours(
    windows: tuple[WorkingWindow, ...],
) -> tuple[tuple[tuple[int, int], ...], ...]:
    """Per weekday, the [start, end) second-of-day intervals worked; overnight windows split."""
    days: list[list[tuple[int, int]]] = [[] for _ in range(7)]
    for w in windows:
        start, end = _seconds(w.start), _seconds(w.end)
        for d in w.weekdays:
            if not 0 <= d <= 6:
                continue
            if end > start:
                days[d].append((start, end))
            else:
                # wraps past midnight: the tail belongs to the next calendar day
                days[d].append((start, _DAY))
                if end > 0:
                    days[(d + 1) % 7].append((0, end))
    return tuple(tuple(sorted(day)) for day in days)


@dataclass(frozen=True, slots=True, eq=False)
class CompiledRep:
    """A rep with everything precomputed for fast checks."""

    rep_id: int
    sid: str  # str(rep_id), the key in rotation state
    username: str
    active: bool
    tz: ZoneInfo
    time_zone: str
    weight: int
    max_open: int | None
    max_daily: int | None
    skills: frozenset[str]
    languages: frozenset[str]
    #: None: works any time; else per weekday (0=Monday) the worked intervals in seconds of day
    hours: tuple[tuple[tuple[int, int], ...], ...] | None
    hours_text: str
    #: (starts_at, ends_at, reason code), sorted
    time_off: tuple[tuple[datetime.datetime, datetime.datetime, str], ...]


def compile_rep(rep: RepProfile, tz: ZoneInfo) -> CompiledRep:
    return CompiledRep(
        rep_id=rep.rep_id,
        sid=str(rep.rep_id),
        username=rep.username,
        active=rep.active,
        tz=tz,
        time_zone=rep.time_zone,
        weight=rep.weight,
        max_open=rep.max_open_leads,
        max_daily=rep.max_daily_leads,
        skills=frozenset(s.strip().lower() for s in rep.skills),
        languages=frozenset(s.strip().lower() for s in rep.languages),
        hours=_compile_hours(rep.working_hours) if rep.working_hours else None,
        hours_text=format_hours(rep.working_hours, rep.time_zone) if rep.working_hours else "",
        time_off=tuple(sorted((p.starts_at, p.ends_at, p.reason) for p in rep.time_off)),
    )


_NO_LOAD = RepLoad(rep_id=0)


class EligibilityContext:
    """Per-decision state: now, loads, exclusions, and each time zone's local time (computed once)."""

    __slots__ = ("_checkers", "_local", "excluded", "loads", "now")

    def __init__(
        self,
        now: datetime.datetime,
        loads: Mapping[int, RepLoad],
        excluded: frozenset[int],
    ) -> None:
        self.now = now
        self.loads = loads
        self.excluded = excluded
        #: time zone -> (weekday, second of day, local datetime), computed once per decision
        self._local: dict[str, tuple[int, int, datetime.datetime]] = {}
        self._checkers: dict[
            tuple[bool, str | None, str | None, bool], Callable[[CompiledRep], Ineligible | None]
        ] = {}

    def local_now(self, rep: CompiledRep) -> tuple[int, int, datetime.datetime]:
        local = self._local.get(rep.time_zone)
        if local is None:
            dt = self.now.astimezone(rep.tz)
            local = (dt.weekday(), dt.hour * 3600 + dt.minute * 60 + dt.second, dt)
            self._local[rep.time_zone] = local
        return local

    def load(self, rep: CompiledRep) -> RepLoad:
        return self.loads.get(rep.rep_id, _NO_LOAD)

    def why_not(
        self,
        rep: CompiledRep,
        *,
        hours: bool,
        skill: str | None,
        language: str | None,
        relaxed: bool = False,
    ) -> Ineligible | None:
        """None if eligible, else the first reason (in a fixed order) why not."""
        return self.checker(hours=hours, skill=skill, language=language, relaxed=relaxed)(rep)

    def checker(
        self,
        *,
        hours: bool,
        skill: str | None,
        language: str | None,
        relaxed: bool = False,
    ) -> Callable[[CompiledRep], Ineligible | None]:
        """A fast per-rule check: rep -> None if eligible, else the first reason why not.

        Order: excluded, inactive, away, time off, open-lead capacity, daily cap, working hours
        (only if the rule respects them), skill, language. ``relaxed`` (assign_anyway) ignores
        availability and capacity (away, time off, caps, hours) but still honours exclusion,
        active, skill and language.
        """
        key = (hours, skill, language, relaxed)
        cached = self._checkers.get(key)
        if cached is not None:
            return cached
        excluded = self.excluded
        loads = self.loads
        now = self.now
        local_now = self.local_now

        def why_not(rep: CompiledRep) -> Ineligible | None:
            if rep.rep_id in excluded:
                return _ALREADY_HELD
            if not rep.active:
                return _INACTIVE
            if not relaxed:
                load = loads.get(rep.rep_id)
                if load is not None:
                    if load.away:
                        return _AWAY
                    open_leads, today = load.open_leads, load.leads_today
                else:
                    open_leads = today = 0
                if rep.time_off:
                    for starts, ends, reason in rep.time_off:
                        if starts <= now < ends:
                            until = ends.astimezone(datetime.UTC).isoformat()
                            return Ineligible(
                                Why.TIME_OFF,
                                f"time off until {until} ({reason})"
                                if reason
                                else f"time off until {until}",
                            )
                if rep.max_open is not None and open_leads >= rep.max_open:
                    return Ineligible(
                        Why.AT_CAPACITY_OPEN,
                        f"at capacity {open_leads}/{rep.max_open} open leads",
                    )
                if rep.max_daily is not None and today >= rep.max_daily:
                    return Ineligible(
                        Why.AT_CAPACITY_DAILY, f"daily cap reached {today}/{rep.max_daily}"
                    )
                if hours and rep.hours is not None:
                    weekday, sec, local = local_now(rep)
                    for a, b in rep.hours[weekday]:
                        if a <= sec < b:
                            break
                    else:
                        return Ineligible(
                            Why.OUTSIDE_HOURS,
                            f"outside hours {rep.hours_text} (now {local:%a %H:%M} there)",
                        )
            if skill is not None and skill not in rep.skills:
                return Ineligible(Why.MISSING_SKILL, f"lacks skill '{skill}'")
            if language is not None and language not in rep.languages:
                return Ineligible(Why.MISSING_LANGUAGE, f"does not speak '{language}'")
            return None

        self._checkers[key] = why_not
        return why_not
