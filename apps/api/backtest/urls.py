from django.urls import path

from apps.api.backtest.views import RoutingBacktestApi

urlpatterns = [
    path("audit/backtest/", RoutingBacktestApi.as_view(), name="audit-backtest"),
]
