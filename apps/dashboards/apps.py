from django.apps import AppConfig


class DashboardsConfig(AppConfig):
    """Managers' dashboards: aggregate selectors, pages and their JSON twins (read only)."""

    name = "apps.dashboards"
    label = "dashboards"
    verbose_name = "Dashboards"
