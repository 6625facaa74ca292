"""Notification tasks (queue `notify`): take ids, call one service, own the retries."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.db import DatabaseError

from apps.notifications import services
from apps.notifications.models import WebhookDelivery

logger = logging.getLogger(__name__)


@shared_task(acks_late=True)
def outbox_dispatch() -> dict[str, int]:
    """Send what the outbox owes. Enqueued on commit by every change that owes a notification,
    and run every minute by beat: a row a broker outage or a killed worker left pending is sent
    then. Never retried as a whole: a failing row keeps its own backoff in the outbox, and an
    unreachable database leaves every row as it was for the next run."""
    return services.outbox_dispatch()


@shared_task(acks_late=True)
def unrouted_digest() -> dict[str, int]:
    """Beat: one digest mail to managers for leads waiting unrouted (each lead once per interval)."""
    return services.unrouted_digest_send()


@shared_task(bind=True, acks_late=True, max_retries=None)
def webhook_deliver(self, delivery_id: int) -> str:  # type: ignore[no-untyped-def]
    """POST one webhook delivery; on failure retry with bounded exponential backoff (the beat
    dispatcher retries it too if this task is lost)."""
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


@shared_task(
    acks_late=True,
    autoretry_for=(DatabaseError, OSError),  # smtplib's errors are OSErrors
    retry_backoff=30,
    retry_backoff_max=900,
    retry_jitter=True,
    max_retries=10,  # about as long as the outbox keeps trying (~75 min)
)
def config_broken_notify(version_number: int, errors: dict[str, list[str]]) -> int:
    """Mail managers that the live configuration does not compile (once per broken version)."""
    return services.config_broken_alert_send(version_number=version_number, errors=errors)
