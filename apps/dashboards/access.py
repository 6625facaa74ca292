"""Managers only, decided on the server for every request: anonymous visitors go to the sign-in
page, anyone else signed in (a rep, an integration account) gets 403. The page renders in the
manager's own time zone (their rep's, else UTC), as the portal's pages do.

(The portal's ``portal_page`` does the same for its pages; the edge apps may not import each
other, so this is the dashboards' own small copy of its manager branch.)
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from apps.core.roles import user_is_manager, user_rep

__all__ = ["ManagerViewer", "manager_page"]


@dataclass(frozen=True)
class ManagerViewer:
    """The signed-in manager as the base layout sees them (``rep``, ``is_manager``, ``zone``)."""

    user: Any
    rep: Any | None
    is_manager: bool = True

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        name = self.rep.time_zone if self.rep is not None else "UTC"
        try:
            return zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return zoneinfo.ZoneInfo("UTC")


def manager_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def page(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not user_is_manager(request.user):
            raise PermissionDenied("The dashboards are for managers.")
        viewer = ManagerViewer(user=request.user, rep=user_rep(request.user))
        request.viewer = viewer  # type: ignore[attr-defined]
        with timezone.override(viewer.zone):
            return view(request, *args, **kwargs)

    return page
