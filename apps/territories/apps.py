from django.apps import AppConfig


class TerritoriesConfig(AppConfig):
    name = "apps.territories"
    label = "territories"
