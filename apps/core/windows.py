"""Date windows the read side reports over (dashboards, audit): whole days in the viewer's zone,
named by a preset ("last_quarter") or by start and end dates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.utils import timezone

__all__ = [
    "MAX_DAYS",
    "PRESETS",
    "QUARTER_PRESETS",
    "DateWindow",
    "preset_window",
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


def preset_window(preset: str, *, today: date) -> DateWindow:
    """The window a preset names, ending today (the quarters: calendar quarters)."""
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
