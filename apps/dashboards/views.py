"""The dashboards' pages and CSV downloads (managers only): validate the filters, call the
dashboard's selector, render. One view serves every dashboard in the registry."""

from __future__ import annotations

import csv
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from apps.core.access import manager_page
from apps.dashboards.filtersets import DashboardFilterSet
from apps.dashboards.registry import DASHBOARDS, Dashboard, dashboard_named
from apps.leads.models import Lead

__all__ = ["dashboard_csv", "dashboard_page"]


def _dashboard(slug: str) -> Dashboard:
    dashboard = dashboard_named(slug)
    if dashboard is None:
        raise Http404("No such dashboard.")
    return dashboard


def _report(
    request: HttpRequest, dashboard: Dashboard, *, health: bool = True
) -> tuple[DashboardFilterSet, dict[str, Any] | None]:
    filterset = DashboardFilterSet(request.GET, queryset=Lead.objects.all())
    if not filterset.is_valid():
        return filterset, None
    return filterset, dashboard.report_for(filterset, health=health)


@require_GET
@manager_page
def dashboard_page(request: HttpRequest, slug: str) -> HttpResponse:
    dashboard = _dashboard(slug)
    filterset, report = _report(request, dashboard)
    return render(
        request,
        dashboard.template,
        {
            "viewer": request.viewer,  # type: ignore[attr-defined]
            "nav": "dashboards",
            "dashboard": dashboard,
            "dashboards": DASHBOARDS,
            "filterset": filterset,
            "report": report,
            "query": request.GET.urlencode(),
        },
        status=200 if report is not None else 400,
    )


@require_GET
@manager_page
def dashboard_csv(request: HttpRequest, slug: str, table: str) -> HttpResponse:
    dashboard = _dashboard(slug)
    if table not in dashboard.csv_tables:
        raise Http404("No such table.")
    _, report = _report(request, dashboard, health=False)  # the tables only
    if report is None:
        return HttpResponse("Invalid filters.", status=400, content_type="text/plain")
    spec = dashboard.csv_tables[table]
    window = report["window"]
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = f"{dashboard.slug}-{table}-{window['start']}-{window['end']}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    writer = csv.writer(response)
    writer.writerow(spec.columns)
    for row in report[spec.key]:
        writer.writerow(["" if row[c] is None else row[c] for c in spec.columns])
    return response
