from django.apps import AppConfig


class ApiConfig(AppConfig):
    """The REST API (an edge: view sets validate, call one service, shape the answer)."""

    name = "apps.api"
    label = "api"
    verbose_name = "REST API"
