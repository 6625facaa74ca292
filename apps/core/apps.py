from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from apps.core.db import sqlite_register_functions
        from apps.core.roles import managers_group_ensure

        connection_created.connect(sqlite_register_functions, dispatch_uid="core-sqlite-functions")

        # After every app's permissions exist (auth's own post_migrate handler runs first).
        post_migrate.connect(managers_group_ensure, dispatch_uid="managers_group_ensure")
