"""A rep's load counters, and the one rule that moves them.

Every writer reads the counters of the reps it touches under their row locks, moves them here in
memory (`take` for each assignment, `release` for each lead a rep no longer holds), and hands the
changed counters to the counter writer (apps.routing.writers) to store. Routing, the sweep, a
manual move and a close all count the same way because they all count here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from apps.engine import RepLoad


@dataclass
class RepCounters:
    """A rep's load counters as read under the row lock, moved in memory by its writer."""

    rep_id: int
    time_zone: str
    away: bool
    open_leads: int
    assigned_today: int
    assigned_today_date: date | None
    last_assigned_at: datetime | None
    changed: bool = False

    def take(self, now: datetime) -> None:
        """One more open lead and one more assignment today (in the rep's time zone)."""
        today = now.astimezone(ZoneInfo(self.time_zone)).date()
        self.assigned_today = self.assigned_today + 1 if self.assigned_today_date == today else 1
        self.assigned_today_date = today
        self.open_leads += 1
        self.last_assigned_at = now
        self.changed = True

    def release(self) -> None:
        """One open lead fewer (closed, or moved to someone else); never below zero."""
        if self.open_leads > 0:
            self.open_leads -= 1
            self.changed = True

    def leads_today(self, now: datetime) -> int:
        """Assignments so far on `now`'s day in the rep's time zone."""
        today = now.astimezone(ZoneInfo(self.time_zone)).date()
        return self.assigned_today if self.assigned_today_date == today else 0

    def load(self, now: datetime, *, conversion_rate: float | None = None) -> RepLoad:
        """The engine's view of these counters at `now`."""
        return RepLoad(
            rep_id=self.rep_id,
            away=self.away,
            open_leads=self.open_leads,
            leads_today=self.leads_today(now),
            last_assigned_at=self.last_assigned_at,
            conversion_rate_90d=conversion_rate,
        )


__all__ = ["RepCounters"]
