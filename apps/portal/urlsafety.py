"""Where to send someone back after a POST: only to a page of this site."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme

__all__ = ["next_url"]


def next_url(request: HttpRequest, default: str) -> str:
    """Where to go back after a POST: the form's `next` when it is this site's, else default."""
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default
