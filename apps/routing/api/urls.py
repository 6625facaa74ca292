from django.urls import path

from apps.routing.api.config_views import (
    RoutingConfigApi,
    RoutingConfigVersionDetailApi,
    RoutingConfigVersionListApi,
)
from apps.routing.api.views import RoutingSimulateApi

urlpatterns = [
    path("routing/simulate/", RoutingSimulateApi.as_view(), name="routing-simulate"),
    path("routing/config/", RoutingConfigApi.as_view(), name="routing-config"),
    path("routing/versions/", RoutingConfigVersionListApi.as_view(), name="routing-version-list"),
    path(
        "routing/versions/<int:number>/",
        RoutingConfigVersionDetailApi.as_view(),
        name="routing-version-detail",
    ),
]
