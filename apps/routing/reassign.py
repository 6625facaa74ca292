"""A manager hands an open lead to a named rep (kind `manual`).

No rule decides this move, so the engine is not asked: a manager may overload a rep on purpose.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.leads.models import WORKING_STATUSES, Lead, LeadStatus
from apps.reps.models import Rep
from apps.routing.locking import rep_counters_lock
from apps.routing.models import Assignment, AssignmentKind
from apps.routing.outbox import outbox_write
from apps.routing.route import RoutingError
from apps.routing.sla_clock import sla_due_at
from apps.routing.write_assignments import assignment_start, reassigned_activity, taken_from
from apps.routing.writers import writers_current


def lead_reassign(
    *, lead_id: int, rep: Rep, note: str, actor: Any, now: datetime | None = None
) -> Assignment:
    """A manager hands an open lead to a named rep, with a note (kind `manual`)."""
    now = now or timezone.now()
    if not note or not note.strip():
        raise RoutingError("A note is required to reassign a lead.")
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead_id)
        if lead.status not in (*WORKING_STATUSES, LeadStatus.UNROUTED, LeadStatus.NEW):
            raise RoutingError(f"A {lead.status} lead cannot be reassigned.")
        if lead.owner_id == rep.pk and lead.status in WORKING_STATUSES:
            raise RoutingError(f"The lead already belongs to {rep.username}.")
        previous_owner_id = lead.owner_id if lead.status in WORKING_STATUSES else None
        # Both reps' rows, in id order (the sweep locks every rep in id order): the previous
        # owner is released below, and locking it after the new rep could deadlock.
        counters = rep_counters_lock(
            [rep.pk] if previous_owner_id is None else [rep.pk, previous_owner_id]
        )
        if rep.pk not in counters:
            raise Rep.DoesNotExist(f"Rep {rep.pk} does not exist.")
        rep = Rep.objects.select_related("user").get(pk=rep.pk)
        actor_name = getattr(actor, "username", "system")
        reason = f"Reassigned by {actor_name} to {rep.username}: {note.strip()}"
        assignment = assignment_start(
            lead=lead,
            rep_id=rep.pk,
            decision=None,
            kind=AssignmentKind.MANUAL,
            reason=reason,
            trace={
                "evaluated_at": now.isoformat(),
                "rules": [],
                "outcome": "manual",
                "actor": actor_name,
                "note": note.strip(),
            },
            now=now,
            config=None,
            actor=actor,
            rule_id=None,
            rule_name="",
            strategy="manual",
        )
        if previous_owner_id is not None and previous_owner_id in counters:
            counters[previous_owner_id].release()
        counters[rep.pk].take(now)
        writers_current().counters.write(counters.values())
        lead.owner = rep
        lead.rule = None
        lead.assigned_at = now
        # A manager's hand-over settles an escalation: the new owner's SLA ladder starts afresh.
        lead.escalated_at = None
        lead.reassignment_count = 0
        if lead.status != LeadStatus.CONTACTED:
            lead.status = LeadStatus.ASSIGNED
            lead.sla_due_at = sla_due_at(now=now, sla_minutes=None)
        lead.save(
            update_fields=[
                "status",
                "owner",
                "rule",
                "assigned_at",
                "sla_due_at",
                "escalated_at",
                "reassignment_count",
                "updated_at",
            ]
        )
        reassigned_activity(assignment, previous_owner_id=previous_owner_id)
        outbox_write(
            assignments=[(assignment.pk, lead.pk, taken_from(previous_owner_id, assignment), now)]
        )
        return assignment


__all__ = ["lead_reassign"]
