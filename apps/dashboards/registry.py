"""The dashboards, each declared once: its slug (URL), title, template, the selector that builds
its report from the filtered leads, and the tables it offers as CSV. The pages, the CSV downloads,
the JSON twins, the URLs and the tabs between dashboards are all generated from this list."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet
from django.urls import reverse

from apps.dashboards.balance import balance_report
from apps.dashboards.conversion import RATE_COLUMNS, conversion_report
from apps.dashboards.filtersets import DashboardFilterSet, DateWindow
from apps.dashboards.health import routing_health
from apps.dashboards.selectors import response_time_report
from apps.leads.models import Lead
from apps.reps.models import Rep

__all__ = ["DASHBOARDS", "CsvTable", "Dashboard", "dashboard_named", "health_for"]

#: report(leads=..., window=..., rep=...) -> the JSON-ready report
Report = Callable[..., dict[str, Any]]


@dataclass(frozen=True)
class CsvTable:
    """One table offered as CSV: its columns and the report key holding its rows."""

    columns: list[str]
    key: str


@dataclass(frozen=True)
class Dashboard:
    slug: str
    title: str
    template: str
    report: Report
    csv_tables: dict[str, CsvTable] = field(default_factory=dict)
    #: The report also takes ``filters`` (the filter form's cleaned data), for a dashboard that
    #: filters rows other than the leads (the balance dashboard: assignments, by their time).
    takes_filters: bool = False

    @property
    def url_name(self) -> str:
        """The page's URL name in the ``dashboards`` namespace ("response_time")."""
        return self.slug.replace("-", "_")

    def get_absolute_url(self) -> str:
        return reverse(f"dashboards:{self.url_name}")

    def build(
        self,
        *,
        leads: QuerySet[Lead],
        window: DateWindow,
        rep: Rep | None,
        filters: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        if self.takes_filters:
            return self.report(leads=leads, window=window, rep=rep, filters=filters or {})
        return self.report(leads=leads, window=window, rep=rep)

    def report_for(self, filterset: DashboardFilterSet, *, health: bool = True) -> dict[str, Any]:
        """The report for a valid filterset; on the pages also the routing-health strip every
        dashboard shows, under ``"health"`` (the JSON twins leave it to its own endpoint,
        ``/api/dashboards/health/``, so each twin costs only its own figures)."""
        report = self.build(
            leads=filterset.qs,
            window=filterset.window,
            rep=filterset.chosen_rep,
            filters=filterset.form.cleaned_data,
        )
        if health:
            report["health"] = health_for(filterset)
        return report


def health_for(filterset: DashboardFilterSet) -> dict[str, Any]:
    """The routing-health strip for a valid filterset (apps.dashboards.health)."""
    return routing_health(
        leads=filterset.filter_others(Lead.objects.all()),
        window=filterset.window,
        per_rep=filterset.chosen_rep is not None,
    )


DASHBOARDS: list[Dashboard] = [
    Dashboard(
        slug="response-time",
        title="Response time",
        template="dashboards/response_time.html",
        report=response_time_report,
        takes_filters=True,
        csv_tables={
            "per_rep": CsvTable(
                ["rep", "leads", "contacted", "median_seconds", "p90_seconds", "within_sla_rate"],
                "per_rep",
            ),
            "histogram": CsvTable(["bucket", "count"], "histogram"),
            "daily": CsvTable(["date", "leads", "median_seconds"], "daily"),
        },
    ),
    Dashboard(
        slug="conversion",
        title="Conversion",
        template="dashboards/conversion.html",
        report=conversion_report,
        csv_tables={
            "per_rep": CsvTable(["rep", "rep_id", *RATE_COLUMNS], "per_rep"),
            "by_territory": CsvTable(
                ["territory", "territory_name", *RATE_COLUMNS], "by_territory"
            ),
            "by_source": CsvTable(["lead_source", *RATE_COLUMNS], "by_source"),
        },
    ),
    Dashboard(
        slug="balance",
        title="Distribution balance",
        template="dashboards/balance.html",
        report=balance_report,
        takes_filters=True,
        csv_tables={
            "per_rep": CsvTable(
                [
                    "rep",
                    "leads",
                    "share",
                    "expected_share",
                    "expected_leads",
                    "residual",
                    "flag",
                    "reason",
                    "weight",
                    "available_days",
                    "away_days",
                    "time_off_days",
                    "inactive_days",
                    "daily_cap",
                    "capped_days",
                ],
                "per_rep",
            ),
        },
    ),
]


def dashboard_named(slug: str) -> Dashboard | None:
    return next((d for d in DASHBOARDS if d.slug == slug), None)
