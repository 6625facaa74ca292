"""Read side of leads: what a user may see."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.models import QuerySet

from apps.core.roles import user_is_manager, user_rep
from apps.leads.models import Lead, LeadActivity


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
