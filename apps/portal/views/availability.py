"""A rep's own availability: away, time off (in their zone), and their working hours.

Only the signed-in rep's own records are reachable: a time-off id of anyone else is a 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST
from rest_framework.exceptions import ValidationError as ServiceValidationError

from apps.configuration.availability import (
    rep_set_away,
    rep_working_hours_set,
    time_off_create,
    time_off_delete,
)
from apps.portal.access import portal_page
from apps.portal.forms import AwayForm, TimeOffForm, WorkingHoursForm
from apps.portal.views._respond import page
from apps.reps.selectors import time_off_list_upcoming, time_off_list_visible

__all__ = ["availability", "away_set", "time_off_cancel", "working_hours_set"]

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _page(
    request: HttpRequest,
    form: TimeOffForm | None = None,
    *,
    hours_form: WorkingHoursForm | None = None,
    status: int = 200,
) -> HttpResponse:
    rep = request.viewer.rep  # type: ignore[attr-defined]
    now = timezone.now()
    periods = list(time_off_list_upcoming(rep=rep, now=now))
    windows = list(rep.working_hours.all())
    hours = [
        {"days": ", ".join(WEEKDAYS[d] for d in sorted(h.weekdays)), "start": h.start, "end": h.end}
        for h in windows
    ]
    days = [day for window in windows for day in window.weekdays]
    # Two windows on one day (a split shift) do not fit the one-window-a-day form.
    editable = len(days) == len(set(days))
    if hours_form is None and editable:
        hours_form = WorkingHoursForm(initial=WorkingHoursForm.initial_from(windows))
    return page(
        request,
        "portal/availability.html",
        {
            "nav": "availability",
            "rep": rep,
            "form": form or TimeOffForm(),
            "hours_form": hours_form,
            "periods": periods,
            "off_now": next((p for p in periods if p.starts_at <= now), None),
            "hours": hours,
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@portal_page("rep")
def availability(request: HttpRequest) -> HttpResponse:
    """GET: the page. POST: book time off (refused when it overlaps another period)."""
    if request.method == "GET":
        return _page(request)
    form = TimeOffForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            time_off_create(
                rep=request.viewer.rep,  # type: ignore[attr-defined]
                starts_at=data["starts_at"],
                ends_at=data["ends_at"],
                reason=data["reason"],
                note=data["note"].strip(),
                actor=request.user,
            )
        except ServiceValidationError as error:
            detail = error.detail if isinstance(error.detail, dict) else {None: error.detail}
            for field, problems in detail.items():
                target = field if field in form.fields else None
                for problem in problems if isinstance(problems, list) else [problems]:
                    form.add_error(target, _in_words(str(problem)))
        else:
            start = timezone.localtime(data["starts_at"])
            messages.success(request, f"Time off booked from {start:%a %d %b %H:%M}.")
            return redirect("portal:availability")
    return _page(request, form, status=400)


def _in_words(problem: str) -> str:
    # The service speaks the API's terms; the page says the same in a sentence.
    if problem.startswith("overlaps time off"):
        return (
            "This overlaps time off you already have (listed below). Change or cancel that first."
        )
    if problem == "must be after starts_at":
        return "The end must be after the start."
    return problem


@require_POST
@portal_page("rep")
def away_set(request: HttpRequest) -> HttpResponse:
    form = AwayForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose away or back.")
        return redirect("portal:availability")
    away = form.cleaned_data["away"]
    rep_set_away(rep=request.viewer.rep, away=away, actor=request.user)  # type: ignore[attr-defined]
    messages.success(
        request,
        "You are away: routing sends you no new leads until you come back."
        if away
        else "Welcome back: routing sends you new leads again.",
    )
    return redirect("portal:availability")


@require_POST
@portal_page("rep")
def time_off_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    period = (
        time_off_list_visible(user=request.user)
        .filter(pk=pk, rep=request.viewer.rep)  # type: ignore[attr-defined]
        .first()
    )
    if period is None:
        raise Http404("No such time off.")
    time_off_delete(period=period, actor=request.user)
    messages.success(request, "Time off cancelled.")
    return redirect("portal:availability")


@require_POST
@portal_page("rep")
def working_hours_set(request: HttpRequest) -> HttpResponse:
    """Replace the rep's weekly hours (one window a day; unticked days are off)."""
    form = WorkingHoursForm(request.POST)
    if form.is_valid():
        try:
            rep_working_hours_set(
                rep=request.viewer.rep,  # type: ignore[attr-defined]
                windows=form.windows(),
                actor=request.user,
            )
        except ValidationError as error:
            for problem in error.messages:
                form.add_error(None, problem)
        else:
            messages.success(request, "Working hours saved.")
            return redirect("portal:availability")
    return _page(request, hours_form=form, status=400)
