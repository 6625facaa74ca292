from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from apps.core.roles import managers_group_ensure

        # After every app's permissions exist (auth's own post_migrate handler runs first).
        post_migrate.connect(managers_group_ensure, dispatch_uid="managers_group_ensure")
