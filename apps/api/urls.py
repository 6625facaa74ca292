"""The REST API under /api/: one URL module per resource."""

from django.urls import include, path

from apps.api.root import ApiRootApi

urlpatterns = [
    path("", ApiRootApi.as_view(), name="api-root"),
    path("", include("apps.api.leads.urls")),
    path("", include("apps.api.routing.urls")),
    path("", include("apps.api.configuration.urls")),
    path("", include("apps.api.territories.urls")),
    path("", include("apps.api.reps.urls")),
    path("", include("apps.api.accounts.urls")),
    path("", include("apps.api.rules.urls")),
    path("", include("apps.api.backtest.urls")),
]
