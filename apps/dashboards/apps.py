from django.apps import AppConfig


class DashboardsConfig(AppConfig):
    """Managers' dashboards: aggregate selectors, pages and their JSON twins (read only)."""

    name = "apps.dashboards"
    label = "dashboards"
    verbose_name = "Dashboards"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from apps.dashboards.db import sqlite_register_functions

        connection_created.connect(sqlite_register_functions, dispatch_uid="dashboards-sqlite")
