"""The outbox dispatcher: claims routing's due outbox rows one at a time and sends each.

Routing writes the rows in the transaction of the change they report (apps/routing/outbox.py);
this runs after commit (a task enqueued on commit, and beat every minute), so a slow mail
server or a failing webhook can neither block nor roll back an assignment, and nothing owed
is lost. See docs/DESIGN.md "Notifications: a transactional outbox".
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import F, QuerySet
from django.template.defaultfilters import pluralize
from django.utils import timezone

from apps.leads.models import Lead, LeadStatus
from apps.notifications.messages import (
    REASSIGN_KINDS,
    assignment_context,
    lead_payload,
    mail_send,
    manager_emails,
    notified_lead,
)
from apps.notifications.models import (
    EventType,
    WebhookDelivery,
)
from apps.notifications.webhooks import webhook_delivery_post, webhook_event_emit
from apps.routing.models import (
    Assignment,
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
)

logger = logging.getLogger(__name__)


def _assigned_mail_send(rows: list[OutboxMessage]) -> None:
    context = assignment_context(rows[0])
    lead, assignment = context["lead"], context["assignment"]
    mail_send(
        template="lead_assigned",
        to=[assignment.rep.user.email],
        context=context,
        time_zone=assignment.rep.time_zone,
        subject=f"New lead for you: {lead.full_name or lead.email}"
        + (f" ({lead.company})" if lead.company else ""),
    )


def _taken_away_mail_send(rows: list[OutboxMessage]) -> None:
    context = assignment_context(rows[0])
    lead, assignment, previous = context["lead"], context["assignment"], context["previous"]
    if previous is None:
        return  # moved back meanwhile: nobody lost it
    mail_send(
        template="lead_taken_away",
        to=[previous.rep.user.email],
        context=context,
        time_zone=previous.rep.time_zone,
        subject=f"Lead moved to {assignment.rep.name}: {lead.full_name or lead.email}",
    )


def _assignment_event_send(rows: list[OutboxMessage]) -> None:
    row = rows[0]
    context = assignment_context(row)
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
    lead = notified_lead(row.lead_id)
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
    mail_send(
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
        lead = notified_lead(rows[0].lead_id)
        history = list(Assignment.objects.select_related("rep__user").filter(lead_id=lead.pk))
        mail_send(
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
    mail_send(
        template="leads_escalated_digest",
        to=manager_emails(),
        context={"leads": leads},
        subject=f"{len(leads)} lead{pluralize(len(leads))} escalated: not contacted in time",
    )


def _escalation_event_send(rows: list[OutboxMessage]) -> None:
    lead = notified_lead(rows[0].lead_id)
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
            webhook_delivery_post(delivery)
        deliveries += 1
    return {"outbox": handled, "deliveries": deliveries}
