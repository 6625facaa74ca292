"""Machinery a RevOps manager never edits, shown to superusers only.

django-celery-beat's schedule tables (the sweep and dispatcher timings are set by a migration
and rarely touched), routing's rotation cursors and its delivery outbox are the system's own:
in a manager's admin they were sections nobody used, one click from breaking routing. A
superuser still sees and edits them.
"""

from __future__ import annotations

from django.contrib import admin
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)

from apps.backoffice.utils import SuperuserOnlyAdminMixin
from apps.routing.models import OutboxMessage, RotationState

from . import notifications, routing  # noqa: F401  (they register two of the admins wrapped here)

#: registered by their own apps (django-celery-beat) or by this package's other modules
SUPERUSER_ONLY = (
    PeriodicTask,
    IntervalSchedule,
    CrontabSchedule,
    SolarSchedule,
    ClockedSchedule,
    RotationState,
    OutboxMessage,
)


def superuser_only(site: admin.AdminSite, *models: type) -> None:
    """Re-register each model's admin with :class:`SuperuserOnlyAdminMixin` in front."""
    for model in models:
        current = type(site._registry[model])
        site.unregister(model)
        site.register(
            model,
            type(
                f"SuperuserOnly{current.__name__}",
                (SuperuserOnlyAdminMixin, current),
                {"__module__": __name__},
            ),
        )


superuser_only(admin.site, *SUPERUSER_ONLY)
