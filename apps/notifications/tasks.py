"""Notification tasks (queue `notify`): take ids, call one service, own the retries."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.db import DatabaseError

from apps.notifications import services

logger = logging.getLogger(__name__)

# A single item's task retries a database error (nothing was sent) and, when it is a mail-only
# retry, a mail error (smtplib's errors are OSErrors).
_RETRYING = {
    "acks_late": True,
    "autoretry_for": (DatabaseError, OSError),
    "retry_backoff": True,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 5,
}


@shared_task(**_RETRYING)
def assignment_notify(assignment_id: int, mail: bool = True, event: bool = True) -> dict[str, int]:
    return services.assignment_notifications_send(
        assignment_id=assignment_id, mail=mail, event=event
    )


@shared_task(**_RETRYING)
def escalation_notify(lead_id: int, mail: bool = True, event: bool = True) -> dict[str, int]:
    return services.escalation_notifications_send(lead_id=lead_id, mail=mail, event=event)


@shared_task(**_RETRYING)
def sla_reminder_notify(lead_id: int, mail: bool = True, event: bool = True) -> dict[str, int]:
    return services.sla_reminder_send(lead_id=lead_id, mail=mail, event=event)


# Batch tasks (one per sweep page): a failing item is handed to its single-item task above, so
# they never retry as a whole (that would mail the items already sent a second time).
@shared_task(acks_late=True)
def assignments_notify(assignment_ids: list[int]) -> dict[str, int]:
    return services.assignments_notifications_send(assignment_ids=assignment_ids)


@shared_task(acks_late=True)
def escalations_notify(lead_ids: list[int]) -> dict[str, int]:
    return services.escalations_notifications_send(lead_ids=lead_ids)


@shared_task(acks_late=True)
def sla_reminders_notify(lead_ids: list[int]) -> dict[str, int]:
    return services.sla_reminders_send(lead_ids=lead_ids)


@shared_task(acks_late=True)
def unrouted_digest() -> dict[str, int]:
    """Beat: one digest mail to managers for leads waiting unrouted (each lead once per interval)."""
    return services.unrouted_digest_send()


@shared_task(bind=True, acks_late=True, max_retries=None)
def webhook_deliver(self, delivery_id: int) -> str:  # type: ignore[no-untyped-def]
    """POST one webhook delivery; on failure retry with bounded exponential backoff."""
    from apps.notifications.models import WebhookDelivery

    while True:
        try:
            done = services.webhook_delivery_attempt(delivery_id=delivery_id)
        except WebhookDelivery.DoesNotExist:
            return "missing"
        if done:
            return "done"
        attempts = (
            WebhookDelivery.objects.filter(pk=delivery_id)
            .values_list("attempts", flat=True)
            .first()
            or 0
        )
        if attempts >= settings.NOTIFY_WEBHOOK_MAX_ATTEMPTS:
            return "failed"
        if not self.request.is_eager:
            raise self.retry(countdown=services.webhook_retry_countdown(attempts))
        # Eager (tests, no broker): nothing can schedule a retry, so try again in place.


@shared_task(**_RETRYING)
def config_broken_notify(version_number: int, errors: dict[str, list[str]]) -> int:
    return services.config_broken_alert_send(version_number=version_number, errors=errors)
