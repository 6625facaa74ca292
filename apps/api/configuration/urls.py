from django.urls import path

from apps.api.configuration.views import (
    RoutingConfigApi,
    RoutingConfigVersionDetailApi,
    RoutingConfigVersionListApi,
)

urlpatterns = [
    path("routing/config/", RoutingConfigApi.as_view(), name="routing-config"),
    path("routing/versions/", RoutingConfigVersionListApi.as_view(), name="routing-version-list"),
    path(
        "routing/versions/<int:number>/",
        RoutingConfigVersionDetailApi.as_view(),
        name="routing-version-detail",
    ),
]
