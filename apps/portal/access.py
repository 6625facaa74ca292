"""Who may open a page, decided on the server for every request.

Anonymous visitors go to the sign-in page; reps get their own pages; managers the managers'
pages; anyone else (an integration account that only submits leads, a user with no role) is
refused with 403. Each page renders in the viewer's own time zone (their rep's, else UTC).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, Literal

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone

from apps.core.viewers import viewer_of
from apps.portal.urlsafety import next_url

__all__ = ["portal_page"]

Role = Literal["rep", "manager", "member"]


def portal_page(role: Role) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Admit ``role`` only: "rep" (a user linked to a rep), "manager", or "member" (either).

    A manager without a rep who opens a rep page is sent to the managers' queue instead.
    """

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def page(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                # A form posted after the session ended: back to its page after signing in
                # (the action's own URL only takes POSTs).
                back = request.get_full_path()
                if request.method != "GET":
                    back = next_url(request, reverse("portal:landing"))
                return redirect_to_login(back)
            viewer = viewer_of(request.user)
            allowed = {
                "rep": viewer.rep is not None,
                "manager": viewer.is_manager,
                "member": viewer.is_member,
            }[role]
            if not allowed:
                if role == "rep" and viewer.is_manager and request.method == "GET":
                    return redirect("portal:unrouted")
                raise PermissionDenied("This page is not for your account.")
            request.viewer = viewer  # type: ignore[attr-defined]
            with timezone.override(viewer.zone):
                return view(request, *args, **kwargs)

        return page

    return decorate
