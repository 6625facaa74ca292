"""Read side of leads: what a user may see."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from apps.core.roles import user_is_manager, user_rep
from apps.leads.models import Lead


def lead_list_visible(*, user: Any) -> QuerySet[Lead]:
    """Managers see every lead; a rep only the leads they own; anyone else none."""
    queryset = Lead.objects.select_related("owner__user", "territory", "rule")
    if user_is_manager(user):
        return queryset
    rep = user_rep(user)
    if rep is None:
        return queryset.none()
    return queryset.filter(owner=rep)
