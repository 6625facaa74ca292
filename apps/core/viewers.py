"""The signed-in person as the pages see them: role and the time zone a page renders in."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from typing import Any

from apps.core.roles import user_is_manager, user_rep

__all__ = ["Viewer", "viewer_of"]


@dataclass(frozen=True)
class Viewer:
    """Who is looking: their user, their rep (if any) and whether they manage."""

    user: Any
    rep: Any | None
    is_manager: bool

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        """The viewer's own zone (their rep's), else UTC."""
        name = self.rep.time_zone if self.rep is not None else "UTC"
        try:
            return zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return zoneinfo.ZoneInfo("UTC")

    @property
    def is_member(self) -> bool:
        return self.is_manager or self.rep is not None


def viewer_of(user: Any) -> Viewer:
    return Viewer(user=user, rep=user_rep(user), is_manager=user_is_manager(user))
