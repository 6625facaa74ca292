from django.apps import AppConfig
from django.db.models.signals import post_migrate


class RoutingConfig(AppConfig):
    name = "apps.routing"
    label = "routing"

    def ready(self) -> None:
        from apps.routing.schedule import beat_schedule_ensure

        post_migrate.connect(beat_schedule_ensure, dispatch_uid="beat_schedule_ensure")
