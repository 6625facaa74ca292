"""The audit's pages (managers): the rule audit of a window with its sign-off, the list of
configuration versions, a diff between two, and restoring one. Views validate, call one
selector or service, and render."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_GET, require_POST
from rest_framework.exceptions import ValidationError as ApiValidationError

from apps.audit.forms import AuditWindowForm, RestoreForm, SignOffForm, VersionDiffForm
from apps.audit.selectors import rule_audit_report
from apps.audit.services import audit_sign_off
from apps.audit.versions import changes_by_section, version_diff, version_list
from apps.configuration.export import config_version_number
from apps.configuration.models import RoutingConfigVersion
from apps.configuration.services import ConfigVersionConflict, routing_config_restore
from apps.core.access import manager_page

__all__ = ["audit_page", "sign_off", "version_diff_page", "version_restore", "versions_page"]

VERSIONS_PAGE_SIZE = 50


def _render(
    request: HttpRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    context = {"viewer": request.viewer, "nav": "audit", "tab": "versions", **context}  # type: ignore[attr-defined]
    return render(request, template, context, status=status)


@require_GET
@manager_page
def audit_page(request: HttpRequest) -> HttpResponse:
    form = AuditWindowForm(request.GET)
    if not form.is_valid():
        return _render(request, "audit/rules.html", {"form": form, "report": None}, status=400)
    window = form.window
    report = rule_audit_report(window=window)
    query = request.GET.copy()
    query.pop("format", None)
    return _render(
        request,
        "audit/rules.html",
        {
            "tab": "rules",
            "form": form,
            "report": report,
            "query": query.urlencode(),
            "sign_off_form": SignOffForm(initial={"start": window.start, "end": window.end}),
        },
    )


@require_POST
@manager_page
def sign_off(request: HttpRequest) -> HttpResponse:
    form = SignOffForm(request.POST)
    if not form.is_valid():
        problems = "; ".join(
            f"{field}: {' '.join(str(e) for e in errors)}"
            if field != "__all__"
            else " ".join(str(e) for e in errors)
            for field, errors in form.errors.items()
        )
        messages.error(request, f"Not signed off: {problems}")
        return redirect(reverse("audit:rules"))
    window = form.window
    audit_sign_off(actor=request.user, window=window, notes=form.cleaned_data["notes"])
    messages.success(request, f"Signed off the review of {window.start} to {window.end}.")
    return redirect(f"{reverse('audit:rules')}?start={window.start}&end={window.end}")


@require_GET
@manager_page
def versions_page(request: HttpRequest) -> HttpResponse:
    paginator = Paginator(version_list(), VERSIONS_PAGE_SIZE)
    current = paginator.get_page(request.GET.get("page"))
    return _render(
        request,
        "audit/versions.html",
        {
            "page_obj": current,
            "versions": list(current.object_list),
            "current": config_version_number(),
        },
    )


@require_GET
@manager_page
def version_diff_page(request: HttpRequest) -> HttpResponse:
    form = VersionDiffForm(request.GET)
    current = config_version_number()
    if not form.is_valid():
        return _render(request, "audit/diff.html", {"form": form, "diff": None}, status=400)
    new = form.cleaned_data["to"] or current
    try:
        diff = version_diff(old=form.cleaned_data["from"], new=new)
    except RoutingConfigVersion.DoesNotExist as exc:
        form.add_error(None, str(exc))
        return _render(request, "audit/diff.html", {"form": form, "diff": None}, status=404)
    return _render(
        request,
        "audit/diff.html",
        {
            "form": form,
            "diff": diff,
            "from_at": parse_datetime(diff["from"]["created_at"]),
            "to_at": parse_datetime(diff["to"]["created_at"]),
            "sections": changes_by_section(diff["changes"]),
            "current": current,
            # Restoring the older side is offered when the newer side is what is live.
            "restorable": diff["to"]["number"] == current and diff["from"]["number"] != current,
        },
    )


@require_POST
@manager_page
def version_restore(request: HttpRequest, number: int) -> HttpResponse:
    form = RestoreForm(request.POST)
    back = f"{reverse('audit:diff')}?from={number}"
    if not form.is_valid():
        messages.error(
            request, "Not restored: the page did not say which version it showed as current."
        )
        return redirect(back)
    try:
        version = routing_config_restore(
            number=number, actor=request.user, based_on=form.cleaned_data["based_on_version"]
        )
    except RoutingConfigVersion.DoesNotExist:
        messages.error(request, f"Not restored: there is no configuration version {number}.")
        return redirect(reverse("audit:versions"))
    except ConfigVersionConflict as exc:
        messages.error(request, f"Not restored: {exc.message}")
        return redirect(back)
    except ApiValidationError as exc:
        messages.error(
            request, f"Not restored: version {number} no longer validates: {_flat(exc.detail)}"
        )
        return redirect(back)
    messages.success(
        request, f"Version {number} restored as version {version.number} ({version.summary})."
    )
    return redirect(reverse("audit:versions"))


def _flat(detail: Any, prefix: str = "") -> str:
    if isinstance(detail, dict):
        return "; ".join(
            _flat(value, f"{prefix}.{key}" if prefix else str(key)) for key, value in detail.items()
        )
    if isinstance(detail, list):
        return "; ".join(_flat(value, prefix) for value in detail)
    return f"{prefix}: {detail}" if prefix else str(detail)
