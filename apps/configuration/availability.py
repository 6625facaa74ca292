"""A rep's availability: away, time off and weekly working hours, written directly (validated
here), each change recorded as a configuration version like any other."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import ValidationError as ModelValidationError
from django.db import transaction
from rest_framework.exceptions import ValidationError

from apps.reps.models import Rep, TimeOff, TimeOffSource, WorkingHours

from .appliers import row_delete, row_save
from .models import RoutingConfigVersion
from .versions import actor_or_none, config_version_record

__all__ = [
    "rep_set_away",
    "rep_working_hours_set",
    "time_off_create",
    "time_off_delete",
    "time_off_update",
]


def rep_set_away(*, rep: Rep, away: bool, actor: Any) -> Rep:
    """Mark a rep away (no new leads) or back."""
    with transaction.atomic():
        rep = Rep.objects.select_for_update().select_related("user").get(pk=rep.pk)
        if rep.away != away:
            rep.away = away
            rep._history_user = actor_or_none(actor)  # type: ignore[attr-defined]
            rep.save(update_fields=["away", "updated_at"])
            config_version_record(
                actor=actor,
                source=RoutingConfigVersion.Source.API,
                summary=f"reps: {rep.user.username} {'away' if away else 'back'}",
            )
    return rep


def rep_working_hours_set(
    *, rep: Rep, windows: list[tuple[list[int], datetime.time, datetime.time]], actor: Any
) -> Rep:
    """Replace a rep's weekly hours with ``windows`` (weekdays 0 = Monday, start, end in the
    rep's zone; end before start wraps past midnight; none: no hours, leads at any time).

    The rep's own availability, like away: written directly, validated, versioned. A weekday may
    appear in one window only (a ValidationError otherwise).
    """
    seen: set[int] = set()
    for weekdays, _start, _end in windows:
        if seen & set(weekdays):
            raise ModelValidationError("A weekday may appear in one window only.")
        seen |= set(weekdays)
    with transaction.atomic():
        rep = Rep.objects.select_for_update().select_related("user").get(pk=rep.pk)
        rows = [
            WorkingHours(rep=rep, weekdays=sorted(days), start=start, end=end)
            for days, start, end in windows
        ]
        for row in rows:
            row.full_clean(exclude=["rep"])
        for old in rep.working_hours.all():
            row_delete(old, actor)
        for row in rows:
            row_save(row, actor)
        config_version_record(
            actor=actor,
            source=RoutingConfigVersion.Source.API,
            summary=f"reps: working hours of {rep.user.username}",
        )
    return rep


def _check_overlap(
    *, rep: Rep, starts_at: datetime.datetime, ends_at: datetime.datetime, exclude: int | None
) -> None:
    if ends_at <= starts_at:
        raise ValidationError({"ends_at": ["must be after starts_at"]})
    clash = (
        TimeOff.objects.filter(rep=rep, starts_at__lt=ends_at, ends_at__gt=starts_at)
        .exclude(pk=exclude)
        .order_by("starts_at")
        .first()
    )
    if clash is not None:
        raise ValidationError(
            {
                "non_field_errors": [
                    f"overlaps time off {clash.starts_at:%Y-%m-%d %H:%M} to "
                    f"{clash.ends_at:%Y-%m-%d %H:%M} UTC (id {clash.pk})"
                ]
            }
        )


def time_off_create(
    *,
    rep: Rep,
    starts_at: datetime.datetime,
    ends_at: datetime.datetime,
    reason: str,
    note: str = "",
    actor: Any,
) -> TimeOff:
    """Add a period of time off (``reason`` a TimeOffReason code); overlaps are refused."""
    with transaction.atomic():
        Rep.objects.select_for_update().filter(pk=rep.pk).first()  # one writer per rep
        _check_overlap(rep=rep, starts_at=starts_at, ends_at=ends_at, exclude=None)
        period = TimeOff(
            rep=rep,
            starts_at=starts_at,
            ends_at=ends_at,
            reason=reason,
            note=note,
            # Not the document's: a configuration document that does not list it keeps it.
            source=TimeOffSource.REP if actor == rep.user else TimeOffSource.ADMIN,
        )
        row_save(period, actor)
        config_version_record(
            actor=actor,
            source=RoutingConfigVersion.Source.API,
            summary=f"reps: time off +1 for {rep.user.username}",
        )
    return period


def time_off_update(
    *,
    period: TimeOff,
    starts_at: datetime.datetime,
    ends_at: datetime.datetime,
    reason: str,
    note: str = "",
    actor: Any,
) -> TimeOff:
    with transaction.atomic():
        Rep.objects.select_for_update().filter(pk=period.rep_id).first()
        _check_overlap(rep=period.rep, starts_at=starts_at, ends_at=ends_at, exclude=period.pk)
        period.starts_at, period.ends_at = starts_at, ends_at
        period.reason, period.note = reason, note
        row_save(period, actor)
        config_version_record(
            actor=actor,
            source=RoutingConfigVersion.Source.API,
            summary=f"reps: time off ~1 for {period.rep.user.username}",
        )
    return period


def time_off_delete(*, period: TimeOff, actor: Any) -> None:
    with transaction.atomic():
        username = period.rep.user.username
        row_delete(period, actor)
        config_version_record(
            actor=actor,
            source=RoutingConfigVersion.Source.API,
            summary=f"reps: time off -1 for {username}",
        )
