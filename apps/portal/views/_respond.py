"""How a page answers a POST: a JSON answer for the page's script (the action's result, a
replacement fragment, field errors), or for a browser without it, a message and a redirect."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.forms import Form
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render

from apps.portal.urlsafety import next_url

__all__ = ["action_done", "action_invalid", "action_refused", "next_url", "page", "wants_json"]


def wants_json(request: HttpRequest) -> bool:
    """The page's script posts with this header and swaps in what comes back."""
    return request.headers.get("X-Portal-Fragment") == "1"


def page(
    request: HttpRequest, template: str, context: dict[str, Any], *, status: int = 200
) -> HttpResponse:
    """Render a page with the viewer (navigation, time zone) in its context."""
    return render(request, template, {"viewer": request.viewer, **context}, status=status)  # type: ignore[attr-defined]


def action_done(
    request: HttpRequest, *, message: str, default_next: str, html: str = "", remove: bool = False
) -> HttpResponse:
    if wants_json(request):
        return JsonResponse({"ok": True, "message": message, "html": html, "remove": remove})
    messages.success(request, message)
    return redirect(next_url(request, default_next))


def action_refused(
    request: HttpRequest,
    *,
    message: str,
    default_next: str,
    status: int = 409,
    remove: bool = False,
) -> HttpResponse:
    """The action does not fit any more (the lead moved, changed state): say so plainly."""
    if wants_json(request):
        return JsonResponse({"ok": False, "message": message, "remove": remove}, status=status)
    messages.error(request, message)
    return redirect(next_url(request, default_next))


def action_invalid(
    request: HttpRequest, form: Form, *, fallback: HttpResponse | None = None
) -> HttpResponse:
    """Bad input: the field errors (400). Without the script, ``fallback`` renders the page with
    the bound form, or a message says what was wrong."""
    errors = {field: [str(e) for e in errs] for field, errs in form.errors.items()}
    if wants_json(request) or fallback is None:
        summary = " ".join(message for messages_ in errors.values() for message in messages_)
        if wants_json(request):
            return JsonResponse(
                {"ok": False, "message": summary or "Check the form.", "errors": errors},
                status=400,
            )
        messages.error(request, summary or "Check the form.")
        return redirect(next_url(request, request.path))
    return fallback
