"""Middleware of the portal's own."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

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
