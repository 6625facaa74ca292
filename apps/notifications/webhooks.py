"""Signed webhooks: event deliveries per subscribed endpoint, each POSTed with backoff."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import uuid
from datetime import timedelta
from functools import partial
from typing import Any

import requests
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.core.broker import task_enqueue
from apps.notifications.addresses import webhook_url_refusal
from apps.notifications.models import (
    DeliveryStatus,
    WebhookDelivery,
    WebhookEndpoint,
)
from apps.routing.outbox import outbox_suppressed

logger = logging.getLogger(__name__)


SIGNATURE_HEADER = "X-Routing-Signature"
TIMESTAMP_HEADER = "X-Routing-Timestamp"
EVENT_HEADER = "X-Routing-Event"
DELIVERY_HEADER = "X-Routing-Delivery"


def _enqueue(task_name: str, *args: Any) -> None:
    if outbox_suppressed():
        return
    task_enqueue(f"apps.notifications.tasks.{task_name}", *args)


def webhook_body(delivery: WebhookDelivery) -> bytes:
    """The exact bytes POSTed (and signed): stable key order, no spaces."""
    envelope = {
        "id": str(delivery.event_id),
        "type": delivery.event_type,
        "created_at": delivery.created_at.isoformat(),
        "data": delivery.payload,
    }
    return json.dumps(envelope, sort_keys=True, separators=(",", ":")).encode()


def webhook_signature(*, secret: str, body: bytes) -> str:
    """`sha256=<hex>`: HMAC-SHA256 of the raw body with the endpoint's secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_signature_verify(*, secret: str, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(webhook_signature(secret=secret, body=body), signature)


#: How long a new or retried delivery is left to its own task before the beat dispatcher takes
#: it as lost (a broker outage, a killed worker).
_TASK_GRACE = timedelta(minutes=1)


def webhook_event_emit(
    *, event_type: str, data: dict[str, Any], event_id: uuid.UUID | None = None
) -> list[int]:
    """Record a delivery per subscribed active endpoint; each is POSTed by its own task on commit.

    `event_id` (an outbox row's) makes emitting again a no-op for endpoints that have it.
    """
    endpoints = [ep for ep in WebhookEndpoint.objects.filter(active=True) if ep.wants(event_type)]
    ids: list[int] = []
    grace = timezone.now() + _TASK_GRACE
    for endpoint in endpoints:
        fields = {"event_type": event_type, "payload": data, "next_attempt_at": grace}
        if event_id is None:
            delivery, created = WebhookDelivery.objects.create(endpoint=endpoint, **fields), True
        else:
            delivery, created = WebhookDelivery.objects.get_or_create(
                endpoint=endpoint, event_id=event_id, defaults=fields
            )
        ids.append(delivery.pk)
        if created:
            transaction.on_commit(partial(_enqueue, "webhook_deliver", delivery.pk))
    return ids


#: Bytes of a failed response's body kept for the delivery log.
RESPONSE_SNIPPET_BYTES = 1024


def webhook_delivery_attempt(*, delivery_id: int) -> bool:
    """POST one delivery once and record the outcome, holding its row lock throughout (two
    workers never both send it). True when nothing is left to do: delivered, given up, or
    another worker holds it right now."""
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("endpoint")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None:
            if not WebhookDelivery.objects.filter(pk=delivery_id).exists():
                raise WebhookDelivery.DoesNotExist(f"Delivery {delivery_id} does not exist.")
            return True  # another worker is sending it and will record the outcome
        if delivery.status != DeliveryStatus.PENDING:
            return True  # delivered already (a redelivered task) or given up
        return webhook_delivery_post(delivery)


def webhook_delivery_post(delivery: WebhookDelivery) -> bool:
    """POST a locked pending delivery and record the outcome in the caller's transaction."""
    delivery.attempts += 1
    delivery.last_attempt_at = timezone.now()
    body = webhook_body(delivery)
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "RoutingPortal-Webhooks/1",
        SIGNATURE_HEADER: webhook_signature(secret=delivery.endpoint.secret, body=body),
        TIMESTAMP_HEADER: timestamp,
        EVENT_HEADER: delivery.event_type,
        DELIVERY_HEADER: str(delivery.event_id),
    }
    error = ""
    status: int | None = None
    # Resolved again at send time: a name that now points inside the network is refused (DNS
    # rebinding), and so for good: retrying would not make it a public address.
    refusal = webhook_url_refusal(delivery.endpoint.url, resolve=True)
    if refusal:
        error = f"Refused: {refusal}"
    else:
        try:
            with requests.post(
                delivery.endpoint.url,
                data=body,
                headers=headers,
                timeout=settings.NOTIFY_WEBHOOK_TIMEOUT_SECONDS,
                allow_redirects=False,
                stream=True,
            ) as response:
                status = response.status_code
                if not 200 <= status < 300:
                    snippet = response.raw.read(RESPONSE_SNIPPET_BYTES, decode_content=True)
                    text = snippet.decode(response.encoding or "utf-8", errors="replace")
                    error = f"HTTP {status}: {text}"
        except requests.RequestException as exc:
            error = f"{type(exc).__name__}: {exc}"[:RESPONSE_SNIPPET_BYTES]
    ok = not error
    delivery.response_status = status
    delivery.last_error = error
    if ok:
        delivery.status = DeliveryStatus.SUCCEEDED
        delivery.delivered_at = timezone.now()
    elif refusal or delivery.attempts >= settings.NOTIFY_WEBHOOK_MAX_ATTEMPTS:
        delivery.status = DeliveryStatus.FAILED
    else:
        delivery.next_attempt_at = (
            timezone.now()
            + timedelta(seconds=webhook_retry_countdown(delivery.attempts))
            + _TASK_GRACE
        )
    delivery.save(
        update_fields=[
            "attempts",
            "last_attempt_at",
            "response_status",
            "last_error",
            "status",
            "delivered_at",
            "next_attempt_at",
        ]
    )
    if not ok:
        logger.warning(
            "Webhook delivery %s attempt %s failed: %s", delivery.pk, delivery.attempts, error
        )
    return ok or delivery.status == DeliveryStatus.FAILED


def webhook_retry_countdown(attempts: int) -> float:
    """Exponential backoff, bounded: base * 2^(attempts-1), at most the configured cap."""
    base = settings.NOTIFY_WEBHOOK_RETRY_BASE_SECONDS
    return float(min(base * (2 ** max(attempts - 1, 0)), settings.NOTIFY_WEBHOOK_RETRY_MAX_SECONDS))
