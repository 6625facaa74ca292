"""Notifications: mail to reps and managers, signed webhooks, from routing's transactional outbox.

Routing and the SLA sweep call `apps.routing.outbox.outbox_write` inside their own transaction:
the notifications a change owes are rows committed (or rolled back) with it, one per mail and
per webhook event. Sending happens after commit, here, in `outbox_dispatch` (a task enqueued on commit, and a beat task
every minute for whatever a broker outage or a killed worker left pending), so a slow mail server
or a failing webhook can neither block nor roll back an assignment, and nothing owed is lost.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.template.defaultfilters import pluralize
from django.template.loader import render_to_string
from django.utils import timezone

from apps.core.broker import task_enqueue
from apps.core.roles import MANAGERS_GROUP
from apps.leads.models import Lead, LeadActivity, LeadActivityKind, LeadStatus
from apps.notifications.addresses import webhook_url_refusal
from apps.notifications.models import (
    DeliveryStatus,
    EventType,
    LeadNotice,
    NoticeKind,
    WebhookDelivery,
    WebhookEndpoint,
)
from apps.routing.models import (
    Assignment,
    AssignmentKind,
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
)
from apps.routing.outbox import outbox_suppressed

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Routing-Signature"
TIMESTAMP_HEADER = "X-Routing-Timestamp"
EVENT_HEADER = "X-Routing-Event"
DELIVERY_HEADER = "X-Routing-Delivery"
REASSIGN_KINDS = {
    AssignmentKind.REASSIGN_INACTIVITY,
    AssignmentKind.REASSIGN_UNAVAILABLE,
    AssignmentKind.MANUAL,
}


def _enqueue(task_name: str, *args: Any) -> None:
    if outbox_suppressed():
        return
    task_enqueue(f"apps.notifications.tasks.{task_name}", *args)


# --- mail ---------------------------------------------------------------------------------


def manager_emails() -> list[str]:
    """Members of the RevOps managers group and superusers, active, with an email."""
    users = (
        get_user_model()
        .objects.filter(Q(groups__name=MANAGERS_GROUP) | Q(is_superuser=True), is_active=True)
        .exclude(email="")
    )
    return sorted(set(users.values_list("email", flat=True)))


def _send_mail(
    *,
    template: str,
    subject: str,
    to: Iterable[str],
    context: dict[str, Any],
    time_zone: str | None = None,
) -> int:
    """Render `template` (text and HTML) and send it; times read in `time_zone` (the recipient
    rep's), else in TIME_ZONE (UTC: managers may sit anywhere)."""
    recipients = [address for address in to if address]
    if not recipients:
        return 0
    context = {**context, "site_url": getattr(settings, "ROUTING_SITE_URL", "")}
    with timezone.override(ZoneInfo(time_zone) if time_zone else None):
        text = render_to_string(f"notifications/{template}.txt", context)
        html = render_to_string(f"notifications/{template}.html", context)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=recipients,
        connection=get_connection(),
    )
    message.attach_alternative(html, "text/html")
    return message.send()


def lead_payload(lead: Lead) -> dict[str, Any]:
    """The key facts of a lead, for mail and webhooks."""

    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "id": lead.pk,
        "email": lead.email,
        "name": lead.full_name,
        "company": lead.company,
        "title": lead.title,
        "phone": lead.phone,
        "country": lead.country,
        "region": lead.region,
        "lead_source": lead.lead_source,
        "lead_score": lead.lead_score,
        "status": lead.status,
        "owner": lead.owner.username if lead.owner_id else None,
        "territory": lead.territory.code if lead.territory_id else None,
        "rule": lead.rule.name if lead.rule_id else None,
        "assigned_at": iso(lead.assigned_at),
        "sla_due_at": iso(lead.sla_due_at),
        "reassignment_count": lead.reassignment_count,
        "escalated_at": iso(lead.escalated_at),
    }


def _lead(lead_id: int) -> Lead:
    return Lead.objects.select_related("owner__user", "territory", "rule").get(pk=lead_id)


def _assignment_context(row: OutboxMessage) -> dict[str, Any]:
    """The assignment a row reports, its lead and the assignment it ended (if taken away)."""
    assignment = Assignment.objects.select_related("rep__user", "lead", "actor").get(
        pk=row.assignment_id
    )
    lead = _lead(assignment.lead_id)
    previous = (
        Assignment.objects.select_related("rep__user")
        .filter(lead_id=lead.pk, ended_at=assignment.assigned_at, id__lt=assignment.pk)
        .exclude(rep_id=assignment.rep_id)
        .order_by("-id")
        .first()
    )
    if previous is not None and assignment.kind == AssignmentKind.DUPLICATE:
        previous = None
    return {
        "lead": lead,
        "facts": lead_payload(lead),
        "assignment": assignment,
        "rep": assignment.rep,
        "previous": previous,
    }


def _assigned_mail_send(rows: list[OutboxMessage]) -> None:
    context = _assignment_context(rows[0])
    lead, assignment = context["lead"], context["assignment"]
    _send_mail(
        template="lead_assigned",
        to=[assignment.rep.user.email],
        context=context,
        time_zone=assignment.rep.time_zone,
        subject=f"New lead for you: {lead.full_name or lead.email}"
        + (f" ({lead.company})" if lead.company else ""),
    )


def _taken_away_mail_send(rows: list[OutboxMessage]) -> None:
    context = _assignment_context(rows[0])
    lead, assignment, previous = context["lead"], context["assignment"], context["previous"]
    if previous is None:
        return  # moved back meanwhile: nobody lost it
    _send_mail(
        template="lead_taken_away",
        to=[previous.rep.user.email],
        context=context,
        time_zone=previous.rep.time_zone,
        subject=f"Lead moved to {assignment.rep.name}: {lead.full_name or lead.email}",
    )


def _assignment_event_send(rows: list[OutboxMessage]) -> None:
    row = rows[0]
    context = _assignment_context(row)
    lead, assignment, previous = context["lead"], context["assignment"], context["previous"]
    event_type = (
        EventType.LEAD_REASSIGNED
        if assignment.kind in REASSIGN_KINDS or previous
        else EventType.LEAD_ASSIGNED
    )
    webhook_event_emit(
        event_type=event_type,
        event_id=outbox_event_id(row),
        data={
            "lead": lead_payload(lead),
            "assignment": {
                "id": assignment.pk,
                "rep": assignment.rep.username,
                "kind": assignment.kind,
                "rule": assignment.rule_name or None,
                "strategy": assignment.strategy,
                "reason": assignment.reason,
                "actor": assignment.actor.get_username() if assignment.actor_id else None,
                "assigned_at": assignment.assigned_at.isoformat(),
                "previous_rep": previous.rep.username if previous else None,
            },
        },
    )


def _reminded_lead(row: OutboxMessage) -> Lead | None:
    """The reminded lead, unless it was contacted or moved since (nothing to remind then)."""
    lead = _lead(row.lead_id)
    if lead.status != LeadStatus.ASSIGNED or lead.owner is None:
        return None
    return lead


def _reminder_mail_send(rows: list[OutboxMessage]) -> None:
    lead = _reminded_lead(rows[0])
    if lead is None:
        return
    owner = lead.owner
    assert owner is not None
    deadline = (
        f" before {lead.sla_due_at.astimezone(ZoneInfo(owner.time_zone)):%H:%M %Z}"
        if lead.sla_due_at
        else ""
    )
    _send_mail(
        template="sla_reminder",
        to=[owner.user.email],
        context={"lead": lead, "facts": lead_payload(lead), "rep": owner},
        time_zone=owner.time_zone,
        subject=f"Reminder: contact {lead.full_name or lead.email}{deadline}",
    )


def _reminder_event_send(rows: list[OutboxMessage]) -> None:
    lead = _reminded_lead(rows[0])
    if lead is not None:
        webhook_event_emit(
            event_type=EventType.LEAD_SLA_REMINDER,
            event_id=outbox_event_id(rows[0]),
            data={"lead": lead_payload(lead)},
        )


def _escalation_mail_send(rows: list[OutboxMessage]) -> None:
    """One lead: its facts and history. Several due together (a sweep page): one digest, so a
    backlog never becomes a mail per lead."""
    if len(rows) == 1:
        lead = _lead(rows[0].lead_id)
        history = list(Assignment.objects.select_related("rep__user").filter(lead_id=lead.pk))
        _send_mail(
            template="lead_escalated",
            to=manager_emails(),
            context={"lead": lead, "facts": lead_payload(lead), "history": history},
            subject=f"Escalated: {lead.full_name or lead.email} not contacted after "
            f"{lead.reassignment_count} reassignment{pluralize(lead.reassignment_count)}",
        )
        return
    leads = list(
        Lead.objects.select_related("owner__user", "territory", "rule")
        .filter(pk__in=[row.lead_id for row in rows])
        .order_by("pk")
    )
    _send_mail(
        template="leads_escalated_digest",
        to=manager_emails(),
        context={"leads": leads},
        subject=f"{len(leads)} lead{pluralize(len(leads))} escalated: not contacted in time",
    )


def _escalation_event_send(rows: list[OutboxMessage]) -> None:
    lead = _lead(rows[0].lead_id)
    webhook_event_emit(
        event_type=EventType.LEAD_ESCALATED,
        event_id=outbox_event_id(rows[0]),
        data={"lead": lead_payload(lead)},
    )


_SENDERS: dict[str, Callable[[list[OutboxMessage]], None]] = {
    OutboxKind.ASSIGNED_MAIL: _assigned_mail_send,
    OutboxKind.TAKEN_AWAY_MAIL: _taken_away_mail_send,
    OutboxKind.ASSIGNMENT_EVENT: _assignment_event_send,
    OutboxKind.REMINDER_MAIL: _reminder_mail_send,
    OutboxKind.REMINDER_EVENT: _reminder_event_send,
    OutboxKind.ESCALATION_MAIL: _escalation_mail_send,
    OutboxKind.ESCALATION_EVENT: _escalation_event_send,
}
#: Kinds sent together when several are due at once (one digest mail to managers).
_GROUPED = {OutboxKind.ESCALATION_MAIL}
_EVENT_NAMESPACE = uuid.UUID("5b0e7d1c-3a55-4a4e-9a39-0c6f1f0a7e21")


def outbox_event_id(row: OutboxMessage) -> uuid.UUID:
    """The webhook event id of an outbox row: derived from the row, so every retry and every
    redelivered dispatch sends the same id and receivers can deduplicate on it."""
    return uuid.uuid5(_EVENT_NAMESPACE, f"outbox:{row.pk}")


def outbox_retry_delay(attempts: int) -> timedelta:
    """Exponential backoff after the `attempts`-th failure: base * 2^(attempts-1), capped."""
    base = settings.NOTIFY_OUTBOX_RETRY_BASE_SECONDS
    seconds = min(base * (2 ** max(attempts - 1, 0)), settings.NOTIFY_OUTBOX_RETRY_MAX_SECONDS)
    return timedelta(seconds=seconds)


def _due(queryset: QuerySet[Any], now: datetime) -> QuerySet[Any]:
    """Due pending rows, oldest first, row-locked; rows another dispatcher holds are skipped.
    Only the rows themselves are locked (not a delivery's endpoint, which its siblings share)."""
    return (
        queryset.select_for_update(skip_locked=True, of=("self",))
        .filter(status="pending", next_attempt_at__lte=now)
        .order_by("next_attempt_at", "id")
    )


def _outbox_dispatch_one(*, limit: int) -> int:
    """Claim the next due row (with the rows due of its kind when they go together), send it,
    and record the outcome, in one transaction: the row lock keeps every other dispatcher off it
    until it is marked. 0 when nothing is due."""
    now = timezone.now()
    with transaction.atomic():
        row = _due(OutboxMessage.objects.all(), now).first()
        if row is None:
            return 0
        rows = [row]
        if row.kind in _GROUPED:
            rows += list(
                _due(OutboxMessage.objects.filter(kind=row.kind), now).exclude(pk=row.pk)[
                    : limit - 1
                ]
            )
        try:
            # A savepoint: what a failed send wrote (deliveries) is undone with it.
            with transaction.atomic():
                _SENDERS[row.kind](rows)
        except Exception as exc:
            # Recorded only if the database answers: an outage burns no attempt, the next run
            # (or the beat's, a minute later) finds the row as it was.
            logger.warning("Notification %s failed: %s", [r.pk for r in rows], exc, exc_info=True)
            error = f"{type(exc).__name__}: {exc}"[:1000]
            for each in rows:
                each.attempts += 1
                each.last_error = error
                each.next_attempt_at = now + outbox_retry_delay(each.attempts)
                if each.attempts >= settings.NOTIFY_OUTBOX_MAX_ATTEMPTS:
                    each.status = OutboxStatus.FAILED
            OutboxMessage.objects.bulk_update(
                rows, ["attempts", "last_error", "next_attempt_at", "status"]
            )
            return len(rows)
        OutboxMessage.objects.filter(pk__in=[each.pk for each in rows]).update(
            status=OutboxStatus.SENT, sent_at=timezone.now(), attempts=F("attempts") + 1
        )
        return len(rows)


def outbox_dispatch(*, limit: int | None = None) -> dict[str, int]:
    """Send the due outbox rows, then retry the webhook deliveries whose task is overdue
    (lost with a broker outage or a killed worker). Safe to run anywhere, any number at once."""
    limit = limit or settings.NOTIFY_OUTBOX_BATCH
    handled = 0
    while handled < limit:
        count = _outbox_dispatch_one(limit=limit - handled)
        if not count:
            break
        handled += count
    deliveries = 0
    while deliveries < limit:
        now = timezone.now()
        with transaction.atomic():
            delivery = _due(WebhookDelivery.objects.select_related("endpoint"), now).first()
            if delivery is None:
                break
            _webhook_delivery_post(delivery)
        deliveries += 1
    return {"outbox": handled, "deliveries": deliveries}


def unrouted_digest_send(*, now: datetime | None = None, limit: int = 200) -> dict[str, int]:
    """One mail to managers listing leads sitting `unrouted`, and leads stuck `new` beyond
    ROUTING_HEALTH_NEW_LEAD_MINUTES (routing is not running); each lead at most once per interval."""
    now = now or timezone.now()
    interval = timedelta(minutes=settings.NOTIFY_UNROUTED_DIGEST_MINUTES)
    recent = LeadNotice.objects.filter(
        kind=NoticeKind.UNROUTED_DIGEST, sent_at__gt=now - interval
    ).values("lead_id")
    leads = list(
        Lead.objects.filter(status=LeadStatus.UNROUTED)
        .exclude(pk__in=recent)
        .select_related("owner__user", "territory", "rule")
        .order_by("created_at", "pk")[:limit]
    )
    stuck_minutes = settings.ROUTING_HEALTH_NEW_LEAD_MINUTES
    stuck = list(
        Lead.objects.filter(
            status=LeadStatus.NEW, created_at__lte=now - timedelta(minutes=stuck_minutes)
        )
        .exclude(pk__in=recent)
        .order_by("created_at", "pk")[:limit]
    )
    if not leads and not stuck:
        return {"leads": 0, "mails": 0}
    reasons: dict[int, str] = {}
    for lead_id, note in (
        LeadActivity.objects.filter(
            lead_id__in=[lead.pk for lead in leads], kind=LeadActivityKind.UNROUTED
        )
        .order_by("at", "id")
        .values_list("lead_id", "note")
    ):
        reasons[lead_id] = note
    total_unrouted = Lead.objects.filter(status=LeadStatus.UNROUTED).count()
    rows = [{"lead": lead, "reason": reasons.get(lead.pk, "")} for lead in leads]
    subjects = []
    if leads:
        subjects.append(
            f"{len(leads)} lead{pluralize(len(leads))} waiting unrouted "
            f"({total_unrouted} in the queue)"
        )
    if stuck:
        subjects.append(
            f"{len(stuck)} lead{pluralize(len(stuck))} stuck new over {stuck_minutes} min"
        )
    with transaction.atomic():
        sent = _send_mail(
            template="unrouted_digest",
            to=manager_emails(),
            context={
                "rows": rows,
                "total": total_unrouted,
                "now": now,
                "stuck": stuck,
                "stuck_minutes": stuck_minutes,
            },
            subject="; ".join(subjects),
        )
        for lead in [*leads, *stuck]:
            LeadNotice.objects.update_or_create(
                lead=lead, kind=NoticeKind.UNROUTED_DIGEST, defaults={"sent_at": now}
            )
        for lead in leads:
            webhook_event_emit(
                event_type=EventType.LEAD_UNROUTED,
                data={"lead": lead_payload(lead), "reason": reasons.get(lead.pk, "")},
            )
    return {"leads": len(leads) + len(stuck), "mails": sent}


def config_broken_alert_send(*, version_number: int, errors: dict[str, list[str]]) -> int:
    """Mail managers that configuration v`version_number` does not compile, and why."""
    problems = [
        f"{path}: {message}" if path else message
        for path, messages in sorted(errors.items())
        for message in messages
    ]
    return _send_mail(
        template="config_broken",
        to=manager_emails(),
        context={"version": version_number, "problems": problems},
        subject=f"Routing configuration v{version_number} does not compile: "
        "routing uses the last good one",
    )


# --- webhooks -----------------------------------------------------------------------------


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
        return _webhook_delivery_post(delivery)


def _webhook_delivery_post(delivery: WebhookDelivery) -> bool:
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


__all__ = [
    "manager_emails",
    "outbox_dispatch",
    "outbox_event_id",
    "outbox_retry_delay",
    "unrouted_digest_send",
    "webhook_delivery_attempt",
    "webhook_event_emit",
    "webhook_signature",
    "webhook_signature_verify",
    "webhook_url_refusal",
]
