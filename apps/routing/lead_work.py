"""A rep working a lead: first contact, then closing it as converted or disqualified.

These live in routing, not in leads, because closing a lead ends its assignment and gives its
owner's capacity back (routing's counters).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from apps.core.exceptions import StateConflict
from apps.core.roles import user_is_manager, user_rep
from apps.leads.models import WORKING_STATUSES, Lead, LeadActivity, LeadActivityKind, LeadStatus
from apps.routing.models import Assignment
from apps.routing.writers import rep_counters_release

#: Clock slack allowed for systems that post contact times.
_CLOCK_SLACK = timedelta(minutes=1)


class LeadStateError(StateConflict):
    """An action that does not fit the lead's state (HTTP 409)."""


class LeadMovedError(LeadStateError):
    """The acting rep no longer owns the lead: it moved after they opened it (HTTP 409)."""


def lead_locked(lead_id: int, *, actor: Any = None) -> Lead:
    """The lead, row-locked, once `actor` may still act on it.

    The view checked visibility before this lock; a sweep or a manager may have moved the lead
    in between, and only the lock makes the ownership check final. Managers act on any lead;
    no actor is the system (imports, the demo).
    """
    lead = Lead.objects.select_for_update().get(pk=lead_id)
    if actor is not None and not user_is_manager(actor):
        rep = user_rep(actor)
        if rep is None or lead.owner_id != rep.pk:
            raise LeadMovedError("This lead was moved to another rep a moment ago.")
    return lead


def lead_contact(
    *, lead_id: int, actor: Any = None, at: datetime | None = None, note: str = ""
) -> Lead:
    """First touch: `assigned` -> `contacted`; `first_contacted_at` is set once.

    A later touch of a contacted lead is logged as a note. `at` may lie in the past but not
    before the lead was created nor in the future (a ValidationError naming `at`).
    """
    now = timezone.now()
    at = at or now
    with transaction.atomic():
        lead = lead_locked(lead_id, actor=actor)
        if at > now + _CLOCK_SLACK:
            raise ValidationError({"at": ["Contact time cannot be in the future."]})
        if at < lead.created_at:
            raise ValidationError({"at": ["Contact time cannot be before the lead was created."]})
        if lead.status == LeadStatus.CONTACTED:
            LeadActivity.objects.create(
                lead=lead, kind=LeadActivityKind.NOTE, at=at, actor=actor, note=note
            )
            return lead
        if lead.status != LeadStatus.ASSIGNED:
            raise LeadStateError(f"A {lead.status} lead cannot be marked contacted.")
        lead.status = LeadStatus.CONTACTED
        lead.first_contacted_at = at
        lead.save(update_fields=["status", "first_contacted_at", "updated_at"])
        LeadActivity.objects.create(
            lead=lead, kind=LeadActivityKind.CONTACTED, at=at, actor=actor, note=note
        )
        return lead


def _lead_close(
    *, lead_id: int, status: str, kind: str, actor: Any, reason: str, at: datetime | None
) -> Lead:
    at = at or timezone.now()
    with transaction.atomic():
        lead = lead_locked(lead_id, actor=actor)
        if lead.status not in WORKING_STATUSES:
            raise LeadStateError(f"A {lead.status} lead cannot be {status}.")
        if lead.owner_id is not None:
            rep_counters_release(rep_id=lead.owner_id)
        # The lead and its recorded duplicates are no longer held by anyone.
        Assignment.objects.filter(
            Q(lead=lead) | Q(lead__duplicate_of=lead), ended_at__isnull=True
        ).update(ended_at=Greatest(Value(at), F("assigned_at")))
        lead.status = status
        lead.closed_at = at
        lead.save(update_fields=["status", "closed_at", "updated_at"])
        LeadActivity.objects.create(lead=lead, kind=kind, at=at, actor=actor, note=reason)
        return lead


def lead_convert(
    *, lead_id: int, actor: Any = None, reason: str = "", at: datetime | None = None
) -> Lead:
    """Close a working lead as won; sets `closed_at`."""
    return _lead_close(
        lead_id=lead_id,
        status=LeadStatus.CONVERTED,
        kind=LeadActivityKind.CONVERTED,
        actor=actor,
        reason=reason,
        at=at,
    )


def lead_disqualify(
    *, lead_id: int, actor: Any = None, reason: str = "", at: datetime | None = None
) -> Lead:
    """Close a working lead as lost; sets `closed_at`."""
    return _lead_close(
        lead_id=lead_id,
        status=LeadStatus.DISQUALIFIED,
        kind=LeadActivityKind.DISQUALIFIED,
        actor=actor,
        reason=reason,
        at=at,
    )


__all__ = [
    "LeadMovedError",
    "LeadStateError",
    "lead_contact",
    "lead_convert",
    "lead_disqualify",
    "lead_locked",
]
