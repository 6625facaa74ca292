"""Middleware of the portal's own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from apps.core.viewers import viewer_of
from apps.core.views import healthz

HEALTHZ_PATH = "/healthz"


class HealthzMiddleware:
    """Answers `/healthz` before anything else looks at the request.

    Load balancers and orchestrators probe an instance by its address (`Host: 10.0.3.7:8000`),
    which is not one of DJANGO_ALLOWED_HOSTS, and over plain HTTP: the probe must neither get
    Django's 400 for an unknown host nor the HTTPS redirect. Only this path is answered here;
    its view reads no host, cookie or session.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info == HEALTHZ_PATH:
            return healthz(request)
        return self.get_response(request)


class AdminViewerTimezoneMiddleware:
    """The admin shows and reads times in the viewer's own zone: their rep's (UTC without one),
    as the portal's pages do (apps/core/viewers.py).

    Active only for the admin's views (the portal's pages convert times themselves), from the
    view through the template's rendering; every request ends back on the default zone.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()

    def process_view(
        self, request: HttpRequest, view_func: Any, view_args: Any, view_kwargs: Any
    ) -> None:
        match = request.resolver_match
        user = getattr(request, "user", None)
        if match is not None and match.app_name == "admin" and user and user.is_authenticated:
            timezone.activate(viewer_of(user).zone)
