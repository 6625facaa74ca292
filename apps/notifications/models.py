"""Outgoing notifications: the outbox, webhook endpoints, their deliveries, a log of lead notices."""

from __future__ import annotations

import secrets
import uuid

from django.db import models
from django.utils import timezone

from apps.core.models import BaseModel
from apps.notifications.addresses import validate_webhook_url


class EventType(models.TextChoices):
    LEAD_ASSIGNED = "lead.assigned", "Lead assigned"
    LEAD_REASSIGNED = "lead.reassigned", "Lead reassigned"
    LEAD_ESCALATED = "lead.escalated", "Lead escalated"
    LEAD_UNROUTED = "lead.unrouted", "Lead unrouted"
    LEAD_SLA_REMINDER = "lead.sla_reminder", "SLA reminder"


def _new_secret() -> str:
    return secrets.token_hex(32)


def validate_event_types(value: object) -> None:
    from django.core.exceptions import ValidationError

    known = set(EventType.values)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValidationError("Event types must be a list of strings.", code="invalid")
    unknown = sorted(set(value) - known)
    if unknown:
        raise ValidationError(
            f"Unknown event types: {', '.join(unknown)}. Known: {', '.join(sorted(known))}.",
            code="unknown_event_type",
        )


class WebhookEndpoint(BaseModel):
    """A URL that receives signed JSON POSTs for the event types it subscribes to."""

    url = models.URLField(max_length=500, validators=[validate_webhook_url])
    description = models.CharField(max_length=200, blank=True)
    event_types = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_event_types],
        help_text='Events to send, e.g. ["lead.assigned", "lead.escalated"]; empty = none.',
    )
    secret = models.CharField(
        max_length=128,
        default=_new_secret,
        help_text="Shared secret for the X-Routing-Signature HMAC-SHA256 header.",
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["url"]

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str) -> bool:
        return self.active and event_type in (self.event_types or [])


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed (gave up)"


class WebhookDelivery(models.Model):
    """One event sent (or being retried) to one endpoint."""

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    # Derived from the outbox row for routing events (the same across retries and redeliveries):
    # receivers deduplicate on it.
    event_id = models.UUIDField(default=uuid.uuid4, editable=False)
    event_type = models.CharField(max_length=32, choices=EventType.choices)
    payload = models.JSONField()
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    #: When a pending delivery is next tried (the beat dispatcher picks up those due).
    next_attempt_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        indexes = [
            models.Index(fields=["endpoint", "created_at"], name="webhook_delivery_ep_at_idx"),
            models.Index(fields=["status", "created_at"], name="webhook_delivery_status_idx"),
            models.Index(
                fields=["next_attempt_at", "id"],
                condition=models.Q(status="pending"),
                name="webhook_delivery_due_idx",
            ),
        ]
        constraints = [
            # An outbox event is fanned out once per endpoint, however often it is dispatched.
            models.UniqueConstraint(
                fields=["endpoint", "event_id"], name="webhook_delivery_one_per_event"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} -> {self.endpoint_id} ({self.status})"


class NoticeKind(models.TextChoices):
    UNROUTED_DIGEST = "unrouted_digest", "Unrouted digest"


class LeadNotice(models.Model):
    """When a lead was last included in a periodic notice (the unrouted digest throttles on it)."""

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="notices")
    kind = models.CharField(max_length=24, choices=NoticeKind.choices)
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-sent_at"]
        constraints = [
            models.UniqueConstraint(fields=["lead", "kind"], name="lead_notice_one_per_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for lead {self.lead_id} at {self.sent_at:%Y-%m-%d %H:%M}"
