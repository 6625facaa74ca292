"""Read side of reps and their time off."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet

from apps.core.roles import user_is_manager, user_rep
from apps.reps.models import Rep, TimeOff, WorkingHours

__all__ = ["rep_list", "rep_list_visible", "time_off_list_visible"]

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
