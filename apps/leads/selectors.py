"""Read side of leads: what a user may see."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.models import Case, F, Q, QuerySet, Value, When

from apps.core.roles import user_is_manager, user_rep
from apps.leads.models import (
    OPEN_STATUSES,
    WORKING_STATUSES,
    Lead,
    LeadActivity,
    LeadActivityKind,
    LeadStatus,
)


def _lead_queryset() -> QuerySet[Lead]:
    # Everything LeadSerializer shows, in one query.
    return Lead.objects.select_related("owner__user", "territory", "rule")


def lead_list_visible(*, user: Any) -> QuerySet[Lead]:
    """Managers see every lead; a rep only the leads they own; anyone else none."""
    queryset = _lead_queryset()
    if user_is_manager(user):
        return queryset
    rep = user_rep(user)
    if rep is None:
        return queryset.none()
    return queryset.filter(owner=rep)


def lead_status(*, lead_id: int) -> str | None:
    """The lead's status (None: no such lead). Plain SQL: the routing task asks for every lead."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT status FROM {Lead._meta.db_table} WHERE id = %s", [lead_id])
        row = cursor.fetchone()
    return row[0] if row else None


def lead_get(*, lead_id: int) -> Lead:
    """One lead with what its representation needs (no visibility check: callers did it)."""
    return _lead_queryset().get(pk=lead_id)


def lead_get_by_external_id(*, external_id: str, submitted_by: Any) -> Lead | None:
    """The lead this account already submitted under this idempotency key, if any."""
    # get() drops Lead's default ordering: with `ORDER BY created_at DESC LIMIT 1` PostgreSQL
    # walks the created_at index backwards instead of probing the unique external_id index.
    try:
        return Lead.objects.only("pk", "status").get(
            external_id=external_id, submitted_by=submitted_by
        )
    except Lead.DoesNotExist:
        return None


def lead_activity_list(*, lead_id: int) -> QuerySet[LeadActivity]:
    """Everything that happened to a lead (assigned, reminded, reassigned, escalated,
    contacted, closed, notes), oldest first."""
    return LeadActivity.objects.filter(lead_id=lead_id).select_related("actor").order_by("at", "id")


def lead_list_needing_manager() -> QuerySet[Lead]:
    """Open leads routing could not place (`unrouted`) or the SLA ladder escalated to managers,
    oldest first."""
    return (
        _lead_queryset()
        .filter(
            Q(status=LeadStatus.UNROUTED) | Q(escalated_at__isnull=False, status__in=OPEN_STATUSES)
        )
        .order_by("created_at", "id")
    )


def lead_attention_reasons(*, lead_ids: list[int]) -> dict[int, LeadActivity]:
    """Why each lead waits for a manager: its latest `unrouted` or `escalated` activity."""
    latest: dict[int, LeadActivity] = {}
    activities = LeadActivity.objects.filter(
        lead_id__in=lead_ids, kind__in=(LeadActivityKind.UNROUTED, LeadActivityKind.ESCALATED)
    ).order_by("at", "id")
    for activity in activities.only("lead_id", "kind", "at", "note"):
        latest[activity.lead_id] = activity
    return latest


def lead_queue_of(*, rep: Any) -> QuerySet[Lead]:
    """A rep's open leads as their queue shows them: untouched ones first by SLA deadline
    (soonest first), then the contacted ones by when they came."""
    return (
        _lead_queryset()
        .filter(owner=rep, status__in=WORKING_STATUSES)
        .order_by(
            Case(When(status=LeadStatus.ASSIGNED, then=Value(0)), default=Value(1)),
            F("sla_due_at").asc(nulls_last=True),
            "assigned_at",
            "id",
        )
    )


def lead_source_list_seen(*, limit: int = 200) -> list[str]:
    """The distinct lead sources in the data, alphabetically, at most ``limit`` (for pickers)."""
    rows = Lead.objects.exclude(lead_source="").order_by("lead_source")
    return list(rows.values_list("lead_source", flat=True).distinct()[:limit])
