"""Routing's /healthz checks (registered with apps.core.health in RoutingConfig.ready)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.template.defaultfilters import pluralize
from django.utils import timezone

from apps.engine import ConfigError
from apps.leads.models import Lead, LeadStatus
from apps.routing.selectors import config_current

__all__ = ["config_problems", "leads_stuck_new", "stuck_new_problems"]

#: Count stuck leads up to this many (a huge backlog need not be counted exactly).
_COUNT_CAP = 10_000


def stuck_new_cutoff(now: datetime | None = None) -> datetime:
    """Leads still `new` created before this have waited longer than ROUTING_HEALTH_NEW_LEAD_MINUTES."""
    return (now or timezone.now()) - timedelta(minutes=settings.ROUTING_HEALTH_NEW_LEAD_MINUTES)


def leads_stuck_new(*, now: datetime | None = None) -> list[Lead]:
    """Leads waiting `new` beyond the threshold, oldest first (the (status, created_at) index)."""
    return list(
        Lead.objects.filter(status=LeadStatus.NEW, created_at__lte=stuck_new_cutoff(now))
        .order_by("created_at", "pk")
        .only("pk", "created_at")[:_COUNT_CAP]
    )


def stuck_new_problems() -> list[str]:
    stuck = leads_stuck_new()
    if not stuck:
        return []
    count = f"{len(stuck)}+" if len(stuck) == _COUNT_CAP else str(len(stuck))
    return [
        f"{count} lead{pluralize(len(stuck))} waiting new for more than "
        f"{settings.ROUTING_HEALTH_NEW_LEAD_MINUTES} min "
        f"(oldest since {stuck[0].created_at:%Y-%m-%d %H:%M} UTC): routing workers may be down"
    ]


def _first_errors(errors: dict[str, list[str]], limit: int = 3) -> str:
    flat = [f"{path}: {m}" if path else m for path, ms in sorted(errors.items()) for m in ms]
    more = f" (and {len(flat) - limit} more)" if len(flat) > limit else ""
    return "; ".join(flat[:limit]) + more


def config_problems() -> list[str]:
    try:
        config = config_current()
    except ConfigError as exc:
        return [
            "routing configuration does not compile and no earlier one did: routing is stopped "
            f"({_first_errors(exc.errors)})"
        ]
    if config.broken_errors is None:
        return []
    errors = _first_errors(config.broken_errors)
    if config.broken_version_number == config.version_number:
        # Broken by a change that recorded no version (the trial's SQL edit, a shell save):
        # "v3 does not compile; routing uses v3" read as a contradiction.
        return [
            f"routing configuration v{config.version_number}, as changed since outside a "
            f"versioned edit, does not compile ({errors}); routing uses v{config.version_number} "
            "as it last compiled"
        ]
    return [
        f"routing configuration v{config.broken_version_number} does not compile "
        f"({errors}); routing uses v{config.version_number}, the last that compiled"
    ]
