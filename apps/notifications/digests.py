"""Periodic and one-off mails to managers: the unrouted digest, the broken-configuration alert."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.template.defaultfilters import pluralize
from django.utils import timezone

from apps.leads.models import Lead, LeadActivity, LeadActivityKind, LeadStatus
from apps.notifications.messages import lead_payload, mail_send, manager_emails
from apps.notifications.models import (
    EventType,
    LeadNotice,
    NoticeKind,
)
from apps.notifications.webhooks import webhook_event_emit

logger = logging.getLogger(__name__)


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
        sent = mail_send(
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
    return mail_send(
        template="config_broken",
        to=manager_emails(),
        context={"version": version_number, "problems": problems},
        subject=f"Routing configuration v{version_number} does not compile: "
        "routing uses the last good one",
    )
