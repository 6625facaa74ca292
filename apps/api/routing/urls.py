from django.urls import path

from apps.api.routing.views import RoutingSimulateApi

urlpatterns = [
    path("routing/simulate/", RoutingSimulateApi.as_view(), name="routing-simulate"),
]
