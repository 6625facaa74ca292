from django.apps import AppConfig


class BackofficeConfig(AppConfig):
    """The admin screens (an edge: they call the configuration and routing services)."""

    name = "apps.backoffice"
    label = "backoffice"
    verbose_name = "Back office"
