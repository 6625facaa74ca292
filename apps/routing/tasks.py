"""Celery tasks for routing: take ids, call one service, own the retries."""

from __future__ import annotations

import logging
import time
from collections import Counter
from datetime import datetime
from functools import partial

from celery import shared_task
from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from apps.core.broker import broker_publish
from apps.engine import ConfigError
from apps.leads.models import Lead, LeadStatus
from apps.leads.selectors import lead_status
from apps.routing.route import lead_route, leads_route
from apps.routing.selectors import config_current
from apps.routing.settled import settled_leads
from apps.routing.sla_sweep import sla_sweep, sla_sweep_overdue
from apps.routing.sla_timers import sla_deadlines_ahead

logger = logging.getLogger(__name__)

#: At most this many `new` leads are taken per route_pending run (oldest first; the next run
#: takes the rest), and this many `unrouted` ones retried (least recently tried first).
PENDING_LIMIT = 20_000
UNROUTED_RETRY_LIMIT = 500
#: A run stops starting batches after this long (beat starts one every minute).
PENDING_RUN_SECONDS = 50.0


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=(DatabaseError,),
    retry_backoff=True,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=6,
    # No SELECT 1 before each task (routing_portal/celery.py): its first statement reconnects.
    db_health_check=False,
)
def route_lead(self, lead_id: int) -> str:  # type: ignore[no-untyped-def]
    """Route one lead, and others waiting behind it (ROUTING_BATCH_SIZE). Safe to run twice:
    an already-routed lead is a no-op."""
    if lead_id in settled_leads:
        return "noop"  # this process routed it with another lead's batch moments ago
    status = _lead_status_reconnecting(lead_id)
    if status is not None and status != LeadStatus.NEW:
        return "noop"  # routed already, often with another lead's task under a backlog
    try:
        result = lead_route(
            lead_id=lead_id, retry_unrouted=False, batch=settings.ROUTING_BATCH_SIZE
        )
    except Lead.DoesNotExist:
        logger.warning("route_lead: lead %s does not exist", lead_id)
        return "missing"
    # Once committed (at once, unless an eager task runs inside a caller's transaction).
    transaction.on_commit(partial(settled_leads.add, result.settled))
    return result.outcome


def _lead_status_reconnecting(lead_id: int) -> str | None:
    """The lead's status, on a new connection if the worker's has died since its last task.

    The task's first statement stands in for Django's per-task health check: a connection
    the database ended (a restart, pg_terminate_backend, a proxy cut) fails it, and it is
    run once more on a new connection. A database that is down fails that too, and the task
    retries with backoff.
    """
    try:
        return lead_status(lead_id=lead_id)
    except (InterfaceError, OperationalError):
        if connection.in_atomic_block:
            raise  # an eager task inside its caller's transaction: not ours to reconnect
        logger.warning("route_lead: the database connection was gone; reconnecting")
        connection.close()
        return lead_status(lead_id=lead_id)


@shared_task(acks_late=True)
def route_pending() -> dict[str, int]:
    """Safety net: route leads left `new` (their task was never queued: the broker was down)
    and retry `unrouted` ones, ROUTING_BATCH_SIZE leads per transaction."""
    try:
        # Outside any transaction: a broken configuration is recorded (and managers alerted)
        # even when no earlier one compiled and every routing transaction below would fail.
        config_current()
    except ConfigError:
        logger.exception("route_pending: no configuration ever compiled; nothing can be routed")
        return {"config_error": 1}
    cutoff = timezone.now() - settings.ROUTING_PENDING_GRACE
    # A back-dated (imported) lead may be picked up before its own task: routing is idempotent.
    pending = list(
        Lead.objects.filter(status=LeadStatus.NEW, created_at__lte=cutoff)
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:PENDING_LIMIT]
    )
    # Each retry saves the lead, so ordering by updated_at gives every unrouted lead its turn.
    unrouted = list(
        Lead.objects.filter(status=LeadStatus.UNROUTED)
        .order_by("updated_at", "pk")
        .values_list("pk", flat=True)[:UNROUTED_RETRY_LIMIT]
    )
    counts: Counter[str] = Counter()
    # Unrouted retries first: they are capped, and a large backlog of new leads (which can run
    # past the time budget) must not starve them.
    ids = [*unrouted, *pending]
    size = max(1, settings.ROUTING_BATCH_SIZE)
    stop_at = time.monotonic() + PENDING_RUN_SECONDS
    for start in range(0, len(ids), size):
        if time.monotonic() > stop_at:
            counts["left_for_next_run"] += len(ids) - start
            break
        _route_batch(counts, ids[start : start + size])
    return dict(counts)


def _route_batch(counts: Counter[str], lead_ids: list[int]) -> None:
    """One transaction for the batch; if it fails, lead by lead, so one bad lead costs only
    itself (it stays pending for the next run, counted under `error`)."""
    try:
        results = leads_route(lead_ids=lead_ids)
    except Exception:  # any failure: a corrupt row or an engine bug is one lead's problem
        if len(lead_ids) == 1:
            logger.exception("route_pending: lead %s failed; it stays pending", lead_ids[0])
            counts["error"] += 1
            return
        logger.warning(
            "route_pending: a batch of %s failed; routing it lead by lead", len(lead_ids)
        )
        for lead_id in lead_ids:
            _route_batch(counts, [lead_id])
        return
    for lead_id in lead_ids:
        result = results.get(lead_id)
        counts[result.outcome if result is not None else "skipped"] += 1


def leads_route_counted(lead_ids: list[int]) -> Counter[str]:
    """Route these leads in one batch as route_pending does (lead by lead if the batch fails):
    outcome -> count (`skipped`: held by another transaction, left for route_pending)."""
    counts: Counter[str] = Counter()
    _route_batch(counts, lead_ids)
    return counts


def route_lead_enqueue(lead_id: int) -> None:
    """Queue routing after the intake transaction commits; a broker outage loses nothing."""

    def send() -> None:
        # A lead that is not published stays `new`: route_pending routes it once it is due.
        broker_publish(
            lambda: route_lead.apply_async((lead_id,), retry=False), what=f"route_lead({lead_id})"
        )

    transaction.on_commit(send)


@shared_task(acks_late=True)
def reassign_inactive() -> dict[str, int]:
    """Beat, every minute: one SLA sweep (remind, reassign for inactivity or unavailability, escalate).

    Overlapping runs are safe: each lead is handled under its own SKIP LOCKED row lock.
    """
    now = timezone.now()
    counts = sla_sweep(now=now)
    counts["timers"] = sla_timers_arm(now=now)
    return counts


def sla_timers_arm(*, now: datetime) -> int:
    """One `sla_deadline` task per moment leads fall due before the next tick (sla_timers);
    returns how many were published (none while the broker is down: the tick catches up)."""
    armed = 0
    for moment in sla_deadlines_ahead(now=now):
        armed += broker_publish(
            lambda moment=moment: sla_deadline.apply_async(
                (moment.isoformat(),), eta=moment, retry=False
            ),
            what=f"sla_deadline({moment.isoformat()})",
        )
    return armed


@shared_task(acks_late=True)
def sla_deadline(moment: str) -> dict[str, int]:
    """A deadline timer: move the leads that have fallen due by now (armed for `moment`)."""
    counts = sla_sweep_overdue(now=timezone.now())
    if counts["reassigned"] or counts["escalated"]:
        logger.info("SLA deadline %s: %s", moment, counts)
    return counts
