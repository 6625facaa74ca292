"""Read side of territories."""

from __future__ import annotations

from django.db.models import QuerySet

from apps.territories.models import Territory

__all__ = ["territory_list"]


def territory_list() -> QuerySet[Territory]:
    """Every territory with its parent, by code (one query)."""
    return Territory.objects.select_related("parent").order_by("code")
