"""Read side of reps and their time off."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Prefetch, QuerySet

from apps.core.roles import user_is_manager, user_rep
from apps.reps.models import Rep, TimeOff, WorkingHours

__all__ = [
    "RepAvailability",
    "rep_list",
    "rep_list_assignable",
    "rep_list_visible",
    "rep_team_availability",
    "time_off_list_upcoming",
    "time_off_list_visible",
]

# The territory model through the relation: the domain apps import none of each other.
_territories = Rep._meta.get_field("territories").related_model


def rep_list() -> QuerySet[Rep]:
    """Reps with their user, territories, working hours and time off (4 queries)."""
    return (
        Rep.objects.select_related("user")
        .prefetch_related(
            Prefetch("territories", queryset=_territories.objects.only("id", "code")),
            Prefetch("working_hours", queryset=WorkingHours.objects.order_by("start", "id")),
            Prefetch("time_off", queryset=TimeOff.objects.order_by("starts_at", "id")),
        )
        .order_by("user__username")
    )


def rep_list_visible(*, user: Any) -> QuerySet[Rep]:
    """All reps for a manager, only themselves for a rep, nobody for anyone else (4 queries)."""
    queryset = rep_list()
    if user_is_manager(user):
        return queryset
    rep = user_rep(user)
    return queryset.filter(pk=rep.pk) if rep is not None else queryset.none()


def time_off_list_visible(*, user: Any) -> QuerySet[TimeOff]:
    """Everyone's time off for a manager, their own for a rep."""
    queryset = TimeOff.objects.select_related("rep__user").order_by("starts_at", "id")
    if user_is_manager(user):
        return queryset
    rep = user_rep(user)
    return queryset.filter(rep=rep) if rep is not None else queryset.none()


def rep_list_assignable() -> QuerySet[Rep]:
    """Active reps a manager may hand a lead to, by username (one query)."""
    return Rep.objects.filter(active=True).select_related("user").order_by("user__username")


def time_off_list_upcoming(*, rep: Rep, now: datetime.datetime) -> QuerySet[TimeOff]:
    """A rep's time off that has not ended yet (current first), for their availability page."""
    return TimeOff.objects.filter(rep=rep, ends_at__gt=now).order_by("starts_at", "id")


@dataclass(frozen=True)
class RepAvailability:
    """Why an active rep takes no new leads right now (the managers' team view)."""

    rep: Rep
    away: bool
    time_off: TimeOff | None
    at_capacity: str  # "" when not at capacity, else what is full

    @property
    def available(self) -> bool:
        return not (self.away or self.time_off or self.at_capacity)


def _capacity_full(rep: Rep, *, now: datetime.datetime) -> str:
    if rep.max_open_leads is not None and rep.open_leads_count >= rep.max_open_leads:
        return f"{rep.open_leads_count} of {rep.max_open_leads} open leads"
    today = now.astimezone(ZoneInfo(rep.time_zone)).date()
    if (
        rep.max_daily_leads is not None
        and rep.assigned_today_date == today
        and rep.assigned_today >= rep.max_daily_leads
    ):
        return f"{rep.assigned_today} of {rep.max_daily_leads} leads today"
    return ""


def rep_team_availability(*, now: datetime.datetime) -> list[RepAvailability]:
    """Every active rep with what keeps them from new leads now: away, time off, a full
    capacity (open leads, or today's cap in their zone). Working hours are not judged here.
    Two queries."""
    current = TimeOff.objects.filter(starts_at__lte=now, ends_at__gt=now).order_by("ends_at")
    reps = (
        Rep.objects.filter(active=True)
        .select_related("user")
        .prefetch_related(Prefetch("time_off", queryset=current, to_attr="time_off_now"))
        .order_by("user__username")
    )
    return [
        RepAvailability(
            rep=rep,
            away=rep.away,
            time_off=rep.time_off_now[0] if rep.time_off_now else None,  # type: ignore[attr-defined]
            at_capacity=_capacity_full(rep, now=now),
        )
        for rep in reps
    ]
