"""Celery application: configured from Django settings under the CELERY_ namespace."""

import os

from celery import Celery, Task, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "routing_portal.settings")

app = Celery("routing_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.task_prerun.connect
@signals.task_postrun.connect
def _recycle_database_connections(
    signal: object = None, task: Task | None = None, **kwargs: object
) -> None:
    """Reuse connections across tasks as requests do: close only obsolete or broken ones.

    Before a task, Django would also check the reused connection with a `SELECT 1` (its
    CONN_HEALTH_CHECKS) at the task's first query. A task declared `db_health_check=False`
    does without: its first statement reconnects when the connection has died
    (route_lead: one round trip of two for a lead another task already routed).

    Not for eager tasks, which run inside the caller's request or transaction.
    """
    if task is not None and getattr(task.request, "is_eager", False):
        return
    from django.db import close_old_connections, connections

    close_old_connections()
    if signal is signals.task_prerun and not getattr(task, "db_health_check", True):
        for connection in connections.all(initialized_only=True):
            connection.health_check_done = True
