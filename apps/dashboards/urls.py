"""The dashboards' pages (under /dashboards/) and JSON twins (under /api/dashboards/)."""

from django.urls import path

from apps.dashboards import api, views

app_name = "dashboards"

urlpatterns = [
    path("dashboards/response-time/", views.response_time, name="response_time"),
    path(
        "dashboards/response-time/<slug:table>.csv",
        views.response_time_csv,
        name="response_time_csv",
    ),
    path("api/dashboards/response-time/", api.ResponseTimeApi.as_view(), name="api_response_time"),
]
