"""The default beat schedule, in django-celery-beat's tables (superusers edit it in the admin).

Created on migrate if missing and never overwritten afterwards: unlike CELERY_BEAT_SCHEDULE,
which the database scheduler re-applies at every beat start, an admin's change here sticks.
"""

from __future__ import annotations

from typing import Any

#: name -> (task, crontab minute[, crontab hour]; every hour when no hour is given)
DEFAULT_PERIODIC_TASKS: dict[str, tuple[str, ...]] = {
    "route-pending": ("apps.routing.tasks.route_pending", "*"),
    "reassign-inactive": ("apps.routing.tasks.reassign_inactive", "*"),
    "unrouted-digest": ("apps.notifications.tasks.unrouted_digest", "*/15"),
    # Sends what the notification outbox owes and a broker outage or a killed worker left.
    "outbox-dispatch": ("apps.notifications.tasks.outbox_dispatch", "*"),
    # The response-time dashboard's counts (apps/dashboards/tally.py).
    "response-counts-fold": ("apps.dashboards.tasks.response_counts_fold", "*"),
    # Lead exports hold personal data: uploads are kept LEAD_IMPORT_RETENTION_DAYS days.
    "lead-import-files-expire": ("apps.routing.import_tasks.import_files_expire_daily", "15", "3"),
}


def beat_schedule_ensure(**kwargs: Any) -> None:
    """post_migrate: create the default periodic tasks that do not exist yet."""
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    for name, (task, minute, *hour) in DEFAULT_PERIODIC_TASKS.items():
        if PeriodicTask.objects.filter(name=name).exists():
            continue
        crontab, _ = CrontabSchedule.objects.get_or_create(
            minute=minute,
            hour=hour[0] if hour else "*",
            day_of_week="*",
            day_of_month="*",
            month_of_year="*",
            timezone="UTC",
        )
        PeriodicTask.objects.create(name=name, task=task, crontab=crontab)
