from django.apps import AppConfig


class ConfigurationConfig(AppConfig):
    """The routing configuration document: validation, versions and the one write path."""

    name = "apps.configuration"
    label = "configuration"
    verbose_name = "Routing configuration"
