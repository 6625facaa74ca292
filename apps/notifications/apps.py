from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "apps.notifications"
    label = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        # Register the tasks in every process, not only in workers: routing, below this app,
        # enqueues them by name (apps.routing.outbox), and a web process must find them.
        from apps.notifications import tasks  # noqa: F401
