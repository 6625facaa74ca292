from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo data, `seed_demo`, and `runportal` (the whole portal in one command): the top layer."""

    name = "apps.demo"
    label = "demo"
    verbose_name = "Demo"
