"""What notifications say and to whom: manager addresses, lead payloads, sending one mail."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from apps.core.roles import MANAGERS_GROUP
from apps.leads.models import Lead
from apps.routing.models import (
    Assignment,
    AssignmentKind,
    OutboxMessage,
)

logger = logging.getLogger(__name__)


REASSIGN_KINDS = {
    AssignmentKind.REASSIGN_INACTIVITY,
    AssignmentKind.REASSIGN_UNAVAILABLE,
    AssignmentKind.MANUAL,
}


def manager_emails() -> list[str]:
    """Members of the RevOps managers group and superusers, active, with an email."""
    users = (
        get_user_model()
        .objects.filter(Q(groups__name=MANAGERS_GROUP) | Q(is_superuser=True), is_active=True)
        .exclude(email="")
    )
    return sorted(set(users.values_list("email", flat=True)))


def mail_send(
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


def notified_lead(lead_id: int) -> Lead:
    """The lead a notice is about, with what its mails and events show."""
    return Lead.objects.select_related("owner__user", "territory", "rule").get(pk=lead_id)


def assignment_context(row: OutboxMessage) -> dict[str, Any]:
    """The assignment a row reports, its lead and the assignment it ended (if taken away)."""
    assignment = Assignment.objects.select_related("rep__user", "lead", "actor").get(
        pk=row.assignment_id
    )
    lead = notified_lead(assignment.lead_id)
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
