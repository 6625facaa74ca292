"""Celery tasks for routing: take ids, call one service, own the retries."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone

from apps.leads.models import Lead, LeadStatus
from apps.leads.selectors import lead_status
from apps.routing.services import lead_route

logger = logging.getLogger(__name__)

#: Leads routed per route_pending run; the next run takes the rest.
PENDING_BATCH = 500


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=(DatabaseError,),
    retry_backoff=True,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=6,
)
def route_lead(self, lead_id: int) -> str:  # type: ignore[no-untyped-def]
    """Route one lead, and others waiting behind it (ROUTING_BATCH_SIZE). Safe to run twice:
    an already-routed lead is a no-op."""
    status = lead_status(lead_id=lead_id)
    if status is not None and status != LeadStatus.NEW:
        return "noop"  # routed already, often with another lead's task under a backlog
    try:
        result = lead_route(
            lead_id=lead_id, retry_unrouted=False, batch=settings.ROUTING_BATCH_SIZE
        )
    except Lead.DoesNotExist:
        logger.warning("route_lead: lead %s does not exist", lead_id)
        return "missing"
    return result.outcome


@shared_task(acks_late=True)
def route_pending() -> dict[str, int]:
    """Safety net: route leads left `new` (the broker was down) and retry `unrouted` ones."""
    cutoff = timezone.now() - settings.ROUTING_PENDING_GRACE
    counts: dict[str, int] = {}
    # A back-dated (imported) lead may be picked up before its own task: routing is idempotent.
    pending = list(
        Lead.objects.filter(status=LeadStatus.NEW, created_at__lte=cutoff)
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:PENDING_BATCH]
    )
    unrouted = list(
        Lead.objects.filter(status=LeadStatus.UNROUTED)
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:PENDING_BATCH]
    )
    for lead_id in [*pending, *unrouted]:
        try:
            outcome = lead_route(lead_id=lead_id).outcome
        except DatabaseError:
            logger.exception("route_pending: lead %s failed; it stays pending", lead_id)
            outcome = "error"
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def route_lead_enqueue(lead_id: int) -> None:
    """Queue routing after the intake transaction commits; a broker outage loses nothing."""

    def send() -> None:
        try:
            route_lead.apply_async((lead_id,), retry=False)
        except Exception:  # kombu raises various errors when the broker is unreachable
            logger.warning(
                "Broker unavailable: lead %s stays new and route_pending will route it",
                lead_id,
                exc_info=True,
            )

    transaction.on_commit(send)


@shared_task(acks_late=True)
def reassign_inactive() -> dict[str, int]:
    """Beat, every minute: one SLA sweep (remind, reassign for inactivity or unavailability, escalate).

    Overlapping runs are safe: each lead is handled under its own SKIP LOCKED row lock.
    """
    from apps.routing.sla import sla_sweep

    return sla_sweep(now=timezone.now())
