"""Pages for managers only, decided on the server for every request: anonymous visitors go to
the sign-in page, anyone else signed in (a rep, an integration account) gets 403. The page
renders in the manager's own time zone (their rep's, else UTC), as the portal's pages do.

Shared by the edge apps that serve managers (dashboards, audit), which may not import each other.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from apps.core.roles import user_is_manager
from apps.core.viewers import viewer_of

__all__ = ["manager_page"]


def manager_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Let managers through, with ``request.viewer`` set and the viewer's zone active."""

    @wraps(view)
    def page(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not user_is_manager(request.user):
            raise PermissionDenied("This page is for managers.")
        viewer = viewer_of(request.user)
        request.viewer = viewer  # type: ignore[attr-defined]
        with timezone.override(viewer.zone):
            return view(request, *args, **kwargs)

    return page
