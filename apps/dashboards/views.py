"""The dashboards' pages and CSV downloads (managers only): validate the filters, call one
selector, render."""

from __future__ import annotations

import csv
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from apps.dashboards.access import manager_page
from apps.dashboards.filtersets import DashboardFilterSet
from apps.dashboards.selectors import response_time_report
from apps.leads.models import Lead

__all__ = ["response_time", "response_time_csv"]

#: table name -> (columns, the report key holding its rows)
CSV_TABLES: dict[str, tuple[list[str], str]] = {
    "per_rep": (
        ["rep", "leads", "contacted", "median_seconds", "p90_seconds", "within_sla_rate"],
        "per_rep",
    ),
    "histogram": (["bucket", "count"], "histogram"),
    "daily": (["date", "leads", "median_seconds"], "daily"),
}


def _report(request: HttpRequest) -> tuple[DashboardFilterSet, dict[str, Any] | None]:
    filterset = DashboardFilterSet(request.GET, queryset=Lead.objects.all())
    if not filterset.is_valid():
        return filterset, None
    report = response_time_report(
        leads=filterset.qs, window=filterset.window, rep=filterset.chosen_rep
    )
    return filterset, report


@require_GET
@manager_page
def response_time(request: HttpRequest) -> HttpResponse:
    filterset, report = _report(request)
    query = request.GET.urlencode()
    return render(
        request,
        "dashboards/response_time.html",
        {
            "viewer": request.viewer,  # type: ignore[attr-defined]
            "nav": "dashboards",
            "filterset": filterset,
            "report": report,
            "query": query,
        },
        status=200 if report is not None else 400,
    )


@require_GET
@manager_page
def response_time_csv(request: HttpRequest, table: str) -> HttpResponse:
    if table not in CSV_TABLES:
        raise Http404("No such table.")
    _, report = _report(request)
    if report is None:
        return HttpResponse("Invalid filters.", status=400, content_type="text/plain")
    columns, key = CSV_TABLES[table]
    window = report["window"]
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = f"response-time-{table}-{window['start']}-{window['end']}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    writer = csv.writer(response)
    writer.writerow(columns)
    for row in report[key]:
        writer.writerow(["" if row[c] is None else row[c] for c in columns])
    return response
