"""Notifications: mail to reps and managers and signed webhooks, from routing's outbox.

The public services of this app, one module each: `dispatch` (the outbox dispatcher),
`webhooks` (deliveries), `digests` (mails to managers), `messages` (what a notice says).
"""

from apps.notifications.addresses import webhook_url_refusal
from apps.notifications.digests import config_broken_alert_send, unrouted_digest_send
from apps.notifications.dispatch import outbox_dispatch, outbox_event_id, outbox_retry_delay
from apps.notifications.messages import manager_emails
from apps.notifications.webhooks import (
    webhook_delivery_attempt,
    webhook_event_emit,
    webhook_retry_countdown,
    webhook_signature,
    webhook_signature_verify,
)

__all__ = [
    "config_broken_alert_send",
    "manager_emails",
    "outbox_dispatch",
    "outbox_event_id",
    "outbox_retry_delay",
    "unrouted_digest_send",
    "webhook_delivery_attempt",
    "webhook_event_emit",
    "webhook_retry_countdown",
    "webhook_signature",
    "webhook_signature_verify",
    "webhook_url_refusal",
]
