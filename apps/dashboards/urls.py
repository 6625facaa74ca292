"""The dashboards' pages (under /dashboards/<slug>/) and JSON twins (/api/dashboards/<slug>/),
one of each per dashboard in the registry."""

from django.urls import path
from django.views.generic import RedirectView

from apps.dashboards import api, views
from apps.dashboards.registry import DASHBOARDS

app_name = "dashboards"

urlpatterns = [
    path(
        "dashboards/",
        RedirectView.as_view(pattern_name="dashboards:response_time"),
        name="index",
    ),
    path("dashboards/<slug:slug>/<slug:table>.csv", views.dashboard_csv, name="csv"),
    path("api/dashboards/health/", api.HealthApi.as_view(), name="api_health"),
]
for _dashboard in DASHBOARDS:
    _name = _dashboard.url_name
    urlpatterns += [
        # A named route per dashboard, so links and tests can reverse "dashboards:response_time".
        path(
            f"dashboards/{_dashboard.slug}/",
            views.dashboard_page,
            {"slug": _dashboard.slug},
            name=_name,
        ),
        path(
            f"api/dashboards/{_dashboard.slug}/", api.dashboard_api(_dashboard), name=f"api_{_name}"
        ),
    ]
