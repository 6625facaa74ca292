"""Notifications: mail to reps and managers, signed webhooks. Never in the routing transaction.

Routing and the SLA sweep call the `notify_*` hooks from `transaction.on_commit`; each hook only
enqueues a task on the `notify` queue (a broker outage is logged, never raised), so a slow mail
server or a failing webhook can neither block nor roll back an assignment.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import Q
from django.template.defaultfilters import pluralize
from django.template.loader import render_to_string
from django.utils import timezone

from apps.core.roles import MANAGERS_GROUP
from apps.leads.models import Lead, LeadActivity, LeadActivityKind, LeadStatus
from apps.notifications.models import (
    DeliveryStatus,
    EventType,
    LeadNotice,
    NoticeKind,
    WebhookDelivery,
    WebhookEndpoint,
)
from apps.routing.models import Assignment, AssignmentKind

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


# --- on-commit hooks: enqueue only ---------------------------------------------------------


_suppressed: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "notifications_suppressed", default=False
)


@contextlib.contextmanager
def notifications_suppressed() -> Iterator[None]:
    """Send nothing inside this block (back-filled history such as the demo seed is not news)."""
    token = _suppressed.set(True)
    try:
        yield
    finally:
        _suppressed.reset(token)


def _enqueue(task_name: str, *args: Any) -> None:
    from apps.notifications import tasks

    if _suppressed.get():
        return
    try:
        getattr(tasks, task_name).apply_async(args, retry=False)
    except Exception:  # kombu raises various errors when the broker is unreachable
        logger.warning(
            "Broker unavailable: notification %s%r not sent", task_name, args, exc_info=True
        )


def notify_assignment(assignment_id: int) -> None:
    """Called on commit after an assignment: mail the reps, emit lead.assigned/reassigned."""
    _enqueue("assignment_notify", assignment_id)


def notify_escalation(lead_id: int) -> None:
    _enqueue("escalation_notify", lead_id)


def notify_sla_reminder(lead_id: int) -> None:
    _enqueue("sla_reminder_notify", lead_id)


def notify_assignments(assignment_ids: list[int]) -> None:
    """Called on commit after a page of assignments (the SLA sweep): one task, a mail per lead."""
    if assignment_ids:
        _enqueue("assignments_notify", list(assignment_ids))


def notify_escalations(lead_ids: list[int]) -> None:
    if lead_ids:
        _enqueue("escalations_notify", list(lead_ids))


def notify_sla_reminders(lead_ids: list[int]) -> None:
    if lead_ids:
        _enqueue("sla_reminders_notify", list(lead_ids))


def notify_config_broken(version_number: int, errors: dict[str, list[str]]) -> None:
    """Routing found the live configuration broken (once per broken version): tell managers."""
    _enqueue("config_broken_notify", version_number, errors)


def notify_on_commit(hook: Callable[..., None], *args: Any) -> None:
    """Run `hook(*args)` once the current transaction commits, unless notifications are
    suppressed now (decided at registration: the commit may come after the block ends)."""
    if _suppressed.get():
        return
    transaction.on_commit(partial(hook, *args))


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


def _event_then_mail(
    task: str,
    object_id: int,
    *,
    mail: bool,
    event: bool,
    emit: Callable[[], object],
    send_mail: Callable[[], int],
) -> dict[str, int]:
    """Emit the webhook event, then send the mail; a mail that fails is retried alone by `task`
    (with `event=False`), so webhooks never depend on the mail server and are never sent twice.

    An error emitting the event (the database) propagates: nothing was sent yet, the task
    retries whole. A mail-only run that fails propagates too: its task retries it with backoff.
    """
    if event:
        emit()
    if not mail:
        return {"mails": 0}
    try:
        return {"mails": send_mail()}
    except Exception:
        if not event:
            raise
        logger.exception("Mail of %s(%s) failed; retrying the mail alone", task, object_id)
        _enqueue(task, object_id, True, False)
        return {"mails": 0, "failed": 1}


def assignment_notifications_send(
    *, assignment_id: int, mail: bool = True, event: bool = True
) -> dict[str, int]:
    """Emit lead.assigned (or lead.reassigned); mail the new owner, and the previous one when
    the lead was taken away."""
    assignment = Assignment.objects.select_related("rep__user", "lead", "actor").get(
        pk=assignment_id
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
    context = {
        "lead": lead,
        "facts": lead_payload(lead),
        "assignment": assignment,
        "rep": assignment.rep,
        "previous": previous,
    }

    def send_mail() -> int:
        sent = _send_mail(
            template="lead_assigned",
            to=[assignment.rep.user.email],
            context=context,
            time_zone=assignment.rep.time_zone,
            subject=f"New lead for you: {lead.full_name or lead.email}"
            + (f" ({lead.company})" if lead.company else ""),
        )
        if previous is not None:
            sent += _send_mail(
                template="lead_taken_away",
                to=[previous.rep.user.email],
                context=context,
                time_zone=previous.rep.time_zone,
                subject=f"Lead moved to {assignment.rep.name}: {lead.full_name or lead.email}",
            )
        return sent

    event_type = (
        EventType.LEAD_REASSIGNED
        if assignment.kind in REASSIGN_KINDS or previous
        else EventType.LEAD_ASSIGNED
    )
    emit = partial(
        webhook_event_emit,
        event_type=event_type,
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
    return _event_then_mail(
        "assignment_notify", assignment_id, mail=mail, event=event, emit=emit, send_mail=send_mail
    )


def escalation_notifications_send(
    *, lead_id: int, mail: bool = True, event: bool = True
) -> dict[str, int]:
    """Emit lead.escalated and mail managers the lead's facts and history."""
    lead = _lead(lead_id)
    history = list(Assignment.objects.select_related("rep__user").filter(lead_id=lead_id))
    context = {"lead": lead, "facts": lead_payload(lead), "history": history}
    emit = partial(
        webhook_event_emit, event_type=EventType.LEAD_ESCALATED, data={"lead": lead_payload(lead)}
    )
    send_mail = partial(
        _send_mail,
        template="lead_escalated",
        to=manager_emails(),
        context=context,
        subject=f"Escalated: {lead.full_name or lead.email} not contacted after "
        f"{lead.reassignment_count} reassignment{pluralize(lead.reassignment_count)}",
    )
    return _event_then_mail(
        "escalation_notify", lead_id, mail=mail, event=event, emit=emit, send_mail=send_mail
    )


def sla_reminder_send(*, lead_id: int, mail: bool = True, event: bool = True) -> dict[str, int]:
    lead = _lead(lead_id)
    owner = lead.owner
    if lead.status != LeadStatus.ASSIGNED or owner is None:
        return {"mails": 0}  # contacted meanwhile: nothing to remind
    context = {"lead": lead, "facts": lead_payload(lead), "rep": owner}
    deadline = (
        f" before {lead.sla_due_at.astimezone(ZoneInfo(owner.time_zone)):%H:%M %Z}"
        if lead.sla_due_at
        else ""
    )
    emit = partial(
        webhook_event_emit,
        event_type=EventType.LEAD_SLA_REMINDER,
        data={"lead": lead_payload(lead)},
    )
    send_mail = partial(
        _send_mail,
        template="sla_reminder",
        to=[owner.user.email],
        context=context,
        time_zone=owner.time_zone,
        subject=f"Reminder: contact {lead.full_name or lead.email}{deadline}",
    )
    return _event_then_mail(
        "sla_reminder_notify", lead_id, mail=mail, event=event, emit=emit, send_mail=send_mail
    )


def _each(
    send: Callable[..., dict[str, int]], ids: list[int], *, keyword: str, single_task: str
) -> dict[str, int]:
    """Send one notification per id; one that fails is handed to its own retrying task, so the
    others (already mailed) are not sent twice by a retry of the whole batch."""
    totals = {"mails": 0, "failed": 0}
    for object_id in ids:
        try:
            result = send(**{keyword: object_id})
        except Exception:
            logger.exception(
                "Notification %s for %s failed; retrying it alone", send.__name__, object_id
            )
            totals["failed"] += 1
            _enqueue(single_task, object_id)
            continue
        totals["mails"] += result.get("mails", 0)
    return totals


def assignments_notifications_send(*, assignment_ids: list[int]) -> dict[str, int]:
    """`assignment_notifications_send` for each assignment of a page."""
    return _each(
        assignment_notifications_send,
        assignment_ids,
        keyword="assignment_id",
        single_task="assignment_notify",
    )


def escalations_notifications_send(*, lead_ids: list[int]) -> dict[str, int]:
    """The escalations of one sweep page: a `lead.escalated` event per lead, and one digest mail
    to managers when there are several (a backlog must not become a mail per lead)."""
    if len(lead_ids) <= 1:
        return _each(
            escalation_notifications_send,
            lead_ids,
            keyword="lead_id",
            single_task="escalation_notify",
        )
    leads = list(
        Lead.objects.select_related("owner__user", "territory", "rule")
        .filter(pk__in=lead_ids)
        .order_by("pk")
    )
    failed = 0
    for lead in leads:
        try:
            webhook_event_emit(
                event_type=EventType.LEAD_ESCALATED, data={"lead": lead_payload(lead)}
            )
        except Exception:
            logger.exception("Escalation event for lead %s failed; retrying it alone", lead.pk)
            _enqueue("escalation_notify", lead.pk, False, True)
            failed += 1
    try:
        sent = _send_mail(
            template="leads_escalated_digest",
            to=manager_emails(),
            context={"leads": leads},
            subject=f"{len(leads)} lead{pluralize(len(leads))} escalated: not contacted in time",
        )
    except Exception:
        # Mail down: each lead's mail goes to its own retrying task (its event is out already).
        logger.exception("Escalation digest for %s leads failed; mailing lead by lead", len(leads))
        for lead in leads:
            _enqueue("escalation_notify", lead.pk, True, False)
        return {"mails": 0, "failed": failed + len(leads)}
    return {"mails": sent, "failed": failed}


def sla_reminders_send(*, lead_ids: list[int]) -> dict[str, int]:
    return _each(sla_reminder_send, lead_ids, keyword="lead_id", single_task="sla_reminder_notify")


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


def webhook_event_emit(*, event_type: str, data: dict[str, Any]) -> list[int]:
    """Record a delivery per subscribed active endpoint; each is POSTed by its own task on commit."""
    endpoints = [ep for ep in WebhookEndpoint.objects.filter(active=True) if ep.wants(event_type)]
    ids: list[int] = []
    for endpoint in endpoints:
        delivery = WebhookDelivery.objects.create(
            endpoint=endpoint, event_type=event_type, payload=data
        )
        ids.append(delivery.pk)
        transaction.on_commit(partial(_enqueue, "webhook_deliver", delivery.pk))
    return ids


def webhook_delivery_attempt(*, delivery_id: int) -> bool:
    """POST one delivery once; record the outcome. True when delivered (or nothing left to do)."""
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update()
            .select_related("endpoint")
            .get(pk=delivery_id)
        )
        if delivery.status != DeliveryStatus.PENDING:
            return True  # delivered already (a redelivered task) or given up
        delivery.attempts += 1
        delivery.last_attempt_at = timezone.now()
        delivery.save(update_fields=["attempts", "last_attempt_at"])
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
    try:
        response = requests.post(
            delivery.endpoint.url,
            data=body,
            headers=headers,
            timeout=settings.NOTIFY_WEBHOOK_TIMEOUT_SECONDS,
            allow_redirects=False,
        )
        status = response.status_code
        if not 200 <= status < 300:
            error = f"HTTP {status}: {response.text[:500]}"
    except requests.RequestException as exc:
        error = f"{type(exc).__name__}: {exc}"[:1000]
    ok = not error
    updates: dict[str, Any] = {"response_status": status, "last_error": error}
    if ok:
        updates.update(status=DeliveryStatus.SUCCEEDED, delivered_at=timezone.now())
    elif delivery.attempts >= settings.NOTIFY_WEBHOOK_MAX_ATTEMPTS:
        updates["status"] = DeliveryStatus.FAILED
    WebhookDelivery.objects.filter(pk=delivery.pk).update(**updates)
    if not ok:
        logger.warning(
            "Webhook delivery %s attempt %s failed: %s", delivery.pk, delivery.attempts, error
        )
    return ok or updates.get("status") == DeliveryStatus.FAILED


def webhook_retry_countdown(attempts: int) -> float:
    """Exponential backoff, bounded: base * 2^(attempts-1), at most the configured cap."""
    base = settings.NOTIFY_WEBHOOK_RETRY_BASE_SECONDS
    return float(min(base * (2 ** max(attempts - 1, 0)), settings.NOTIFY_WEBHOOK_RETRY_MAX_SECONDS))


__all__ = [
    "assignment_notifications_send",
    "assignments_notifications_send",
    "escalation_notifications_send",
    "escalations_notifications_send",
    "manager_emails",
    "notify_assignment",
    "notify_assignments",
    "notify_escalation",
    "notify_escalations",
    "notify_sla_reminder",
    "notify_sla_reminders",
    "sla_reminder_send",
    "sla_reminders_send",
    "unrouted_digest_send",
    "webhook_delivery_attempt",
    "webhook_event_emit",
    "webhook_signature",
    "webhook_signature_verify",
]
