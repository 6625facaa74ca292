"""Celery application: configured from Django settings under the CELERY_ namespace."""

import os

from celery import Celery, Task, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "routing_portal.settings")

app = Celery("routing_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.task_prerun.connect
@signals.task_postrun.connect
def _recycle_database_connections(task: Task | None = None, **kwargs: object) -> None:
    """Reuse connections across tasks as requests do: close only obsolete or broken ones.

    Not for eager tasks, which run inside the caller's request or transaction.
    """
    if task is not None and getattr(task.request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()
