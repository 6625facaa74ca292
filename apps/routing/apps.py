from django.apps import AppConfig
from django.db.models.signals import post_migrate


class RoutingConfig(AppConfig):
    name = "apps.routing"
    label = "routing"

    def ready(self) -> None:
        from apps.core.health import health_check_register
        from apps.routing.health import config_problems, stuck_new_problems
        from apps.routing.schedule import beat_schedule_ensure

        health_check_register("routing configuration", config_problems)
        health_check_register("leads waiting new", stuck_new_problems)

        post_migrate.connect(beat_schedule_ensure, dispatch_uid="beat_schedule_ensure")
