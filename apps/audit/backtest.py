"""The backtest page (managers): upload a draft configuration document, pick a past window, read
what the draft would have done to those leads. Writes nothing; the same service as
``POST /api/audit/backtest/`` and ``manage.py backtest_routing``."""

from __future__ import annotations

import datetime
import json
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from apps.configuration.items import ConfigValidationError
from apps.core.access import manager_page
from apps.routing.backtest import BACKTEST_MAX_DAYS, routing_backtest
from apps.routing.backtest_report import backtest_report, trace_lines

__all__ = ["BacktestForm", "backtest_page"]

#: A configuration document is a few hundred kilobytes at most; refuse anything far larger.
MAX_DOCUMENT_BYTES = 5 * 1024 * 1024


def error_lines(tree: Any, prefix: str = "") -> list[str]:
    """Nested errors -> `rules.2.conditions: message` lines."""
    if isinstance(tree, dict):
        out: list[str] = []
        for key, value in tree.items():
            path = prefix if key == "non_field_errors" else f"{prefix}.{key}" if prefix else key
            out.extend(error_lines(value, str(path)))
        return out
    items = tree if isinstance(tree, list) else [tree]
    return [f"{prefix or '(document)'}: {message}" for message in items]


class BacktestForm(forms.Form):
    document = forms.FileField(
        label="Draft configuration (JSON)",
        help_text="A document as the export writes it (GET /api/routing/config/).",
    )
    start = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="To (included)", widget=forms.DateInput(attrs={"type": "date"}))

    def clean_document(self) -> Any:
        upload = self.cleaned_data["document"]
        if upload.size > MAX_DOCUMENT_BYTES:
            raise forms.ValidationError("The file is larger than 5 MB.")
        try:
            document = json.loads(upload.read().decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise forms.ValidationError(f"The file is not valid JSON: {exc}") from exc
        if not isinstance(document, dict):
            raise forms.ValidationError("The file must hold a configuration document (an object).")
        return document

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end:
            if end < start:
                self.add_error("end", "Must be on or after the first day.")
            elif (end - start).days + 1 > BACKTEST_MAX_DAYS:
                self.add_error(
                    "end",
                    f"At most {BACKTEST_MAX_DAYS} days here "
                    "(manage.py backtest_routing takes longer windows).",
                )
        return data


def _initial() -> dict[str, datetime.date]:
    today = timezone.now().date()
    return {"start": today - datetime.timedelta(days=90), "end": today - datetime.timedelta(days=1)}


@require_http_methods(["GET", "POST"])
@manager_page
def backtest_page(request: HttpRequest) -> HttpResponse:
    report = None
    document_errors: list[str] = []
    status = 200
    if request.method == "POST":
        form = BacktestForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            try:
                run = routing_backtest(
                    document=data["document"], start=data["start"], end=data["end"]
                )
            except ConfigValidationError as exc:
                document_errors = error_lines(exc.detail)
                status = 400
            else:
                report = backtest_report(run)
                for item in report["changed"]["sample"]:
                    for side in ("before", "after"):
                        item[side]["lines"] = trace_lines(item[side]["trace"])
        else:
            status = 400
    else:
        form = BacktestForm(initial=_initial())
    return render(
        request,
        "audit/backtest.html",
        {
            "viewer": request.viewer,  # type: ignore[attr-defined]
            "nav": "audit",
            "tab": "backtest",
            "form": form,
            "document_errors": document_errors,
            "report": report,
            "max_days": BACKTEST_MAX_DAYS,
        },
        status=status,
    )
