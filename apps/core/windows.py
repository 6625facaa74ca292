"""Date windows the read side reports over (dashboards, audit): whole days in the viewer's zone,
named by a preset ("last_quarter") or by start and end dates."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.utils import timezone

__all__ = [
    "MAX_DAYS",
    "PRESETS",
    "QUARTER_PRESETS",
    "DateWindow",
    "preset_window",
    "quarter_names",
    "quarter_window",
    "window_choose",
    "window_problem",
]

PRESETS = [
    ("7d", "Last 7 days"),
    ("30d", "Last 30 days"),
    ("90d", "Last 90 days"),
    ("this_quarter", "This quarter"),
    ("last_quarter", "Last quarter"),
]
QUARTER_PRESETS = [(key, label) for key, label in PRESETS if key.endswith("_quarter")]
#: A longer window would make a daily trend unreadable and a page slow.
MAX_DAYS = 366


@dataclass(frozen=True)
class DateWindow:
    """Whole days, both ends included, in the viewer's time zone."""

    start: date
    end: date

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]

    def bounds(self) -> tuple[datetime, datetime]:
        """From midnight on the first day to midnight after the last, in the current zone."""
        zone = timezone.get_current_timezone()
        return (
            datetime.combine(self.start, time.min, tzinfo=zone),
            datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=zone),
        )


def _quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


#: A calendar quarter by name: "2026-Q3".
QUARTER_NAME = re.compile(r"^(\d{4})-Q([1-4])$")


def quarter_window(name: str) -> DateWindow | None:
    """The calendar quarter ``name`` ("2026-Q3": July 1 to September 30), None if not a name."""
    match = QUARTER_NAME.match(name)
    if match is None:
        return None
    year, quarter = int(match[1]), int(match[2])
    start = date(year, 3 * quarter - 2, 1)
    following = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
    return DateWindow(start=start, end=following - timedelta(days=1))


def quarter_names(*, today: date, count: int) -> list[str]:
    """The ``count`` calendar quarters before today's, newest first ("2026-Q3", "2026-Q2"...)."""
    names = []
    day = _quarter_start(today)
    for _ in range(count):
        day = _quarter_start(day - timedelta(days=1))
        names.append(f"{day.year}-Q{(day.month - 1) // 3 + 1}")
    return names


def preset_window(preset: str, *, today: date) -> DateWindow:
    """The window a preset names, ending today (the quarters: calendar quarters; a named
    quarter, "2026-Q3", is that quarter whole)."""
    named = quarter_window(preset)
    if named is not None:
        return named
    if preset.endswith("d"):
        return DateWindow(start=today - timedelta(days=int(preset[:-1]) - 1), end=today)
    this_quarter = _quarter_start(today)
    if preset == "this_quarter":
        return DateWindow(start=this_quarter, end=today)
    last_quarter = _quarter_start(this_quarter - timedelta(days=1))
    return DateWindow(start=last_quarter, end=this_quarter - timedelta(days=1))


def window_choose(
    *, preset: str | None, start: date | None, end: date | None, today: date, default: str
) -> DateWindow:
    """A preset, else start/end (a missing end is today, a missing start 30 days before the
    end), else the ``default`` preset."""
    if preset:
        return preset_window(preset, today=today)
    if not start and not end:
        return preset_window(default, today=today)
    end = end or max(today, start or today)
    start = start or end - timedelta(days=29)
    return DateWindow(start=start, end=end)


def window_problem(start: date | None, end: date | None) -> str | None:
    """Why a start/end pair is not a window we report over, or None when it is."""
    if start and end and start > end:
        return "The start date must not be after the end date."
    if start and end and (end - start).days >= MAX_DAYS:
        return f"Choose a window of at most {MAX_DAYS} days."
    return None
