"""Configuration versions: the writers' lock, the stale-version check, recording a version."""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction
from django.db.models import Max
from rest_framework import status
from rest_framework.exceptions import APIException

from .export import (
    routing_config_export,
)
from .items import ConfigValidationError
from .models import RoutingConfigVersion

__all__ = [
    "ConfigVersionConflict",
    "actor_or_none",
    "config_version_check",
    "config_version_record",
]


def actor_or_none(actor: Any) -> Any:
    """The user to record as author: None for the system or an anonymous caller."""
    return actor if getattr(actor, "is_authenticated", False) else None


CONFIG_LOCK_KEY = 7_263_001


def _lock_versions() -> RoutingConfigVersion | None:
    """Lock and return the newest version (None before the first).

    Serialises configuration writers: each reads, diffs and writes against the state the
    previous one committed. Every writer takes it BEFORE reading the live configuration.
    """
    if connection.vendor == "postgresql":
        # A row lock locks nothing before the first version exists; this lock always holds.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CONFIG_LOCK_KEY])
    return (
        RoutingConfigVersion.objects.select_for_update(of=("self",))
        .select_related("author")
        .order_by("-number")
        .first()
    )


class ConfigVersionConflict(APIException):
    """A write was based on a configuration version that is no longer the current one (412)."""

    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_code = "stale_version"

    def __init__(self, *, based_on: int, current: RoutingConfigVersion | None) -> None:
        number = current.number if current else 0
        who = current.author.get_username() if current and current.author_id else None
        when = current.created_at.isoformat() if current else None
        by = f" by {who}" if who else ""
        at = f" at {when}" if when else ""
        self.message = (
            f"The configuration changed since version {based_on}: the current version is "
            f"{number} (changed{by}{at}). Reload it and apply your change again, or force it."
        )
        super().__init__(self.message)
        # Plain JSON values (numbers stay numbers), not DRF's string-only error details.
        self.detail = {  # type: ignore[assignment]
            "detail": self.message,
            "based_on_version": based_on,
            "current_version": number,
            "changed_by": who,
            "changed_at": when,
        }


def based_on_number(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigValidationError({field: ["must be a configuration version number (>= 0)"]})
    return value


def config_version_check(
    *, based_on: int | None, force: bool = False
) -> RoutingConfigVersion | None:
    """Lock the configuration for this transaction and check ``based_on`` is still current.

    ``based_on`` None (no If-Match, no ``based_on_version``) or ``force`` is unconditional.
    Raises :class:`ConfigVersionConflict` otherwise; returns the current version (locked).
    Must run inside ``transaction.atomic``: the lock is held until the caller commits.
    """
    current = _lock_versions()
    if based_on is None or force:
        return current
    if based_on != (current.number if current else 0):
        raise ConfigVersionConflict(based_on=based_on, current=current)
    return current


def version_create(*, actor: Any, source: str, summary: str, note: str) -> RoutingConfigVersion:
    last = RoutingConfigVersion.objects.aggregate(n=Max("number"))["n"] or 0
    return RoutingConfigVersion.objects.create(
        number=last + 1,
        document=routing_config_export(),
        author=actor_or_none(actor),
        source=source,
        summary=summary[:500],
        note=note,
    )


def config_version_record(
    *, actor: Any, source: str, summary: str, note: str = ""
) -> RoutingConfigVersion:
    """Snapshot the live configuration as a new version (after any single-object change)."""
    with transaction.atomic():
        _lock_versions()
        return version_create(actor=actor, source=source, summary=summary, note=note)
