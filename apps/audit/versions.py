"""Read side of configuration versions for the audit: the list, and what changed between two."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from apps.configuration.diff import config_diff
from apps.configuration.export import datetime_text
from apps.configuration.models import RoutingConfigVersion

__all__ = ["changes_by_section", "version_diff", "version_list"]

#: The sections of a diff, in the order the page shows them.
SECTIONS = [
    ("rules", "Rules"),
    ("territories", "Territories"),
    ("reps", "Reps"),
    ("accounts", "Accounts"),
]


def version_list() -> QuerySet[RoutingConfigVersion]:
    """Every applied version, newest first, without their documents."""
    return (
        RoutingConfigVersion.objects.select_related("author").defer("document").order_by("-number")
    )


def _head(version: RoutingConfigVersion) -> dict[str, Any]:
    return {
        "number": version.number,
        "created_at": datetime_text(version.created_at),
        "author": version.author.get_username() if version.author is not None else None,
        "source": version.source,
        "summary": version.summary,
        "note": version.note,
    }


def version_diff(*, old: int, new: int) -> dict[str, Any]:
    """What changed from version ``old`` to version ``new`` (either order: a diff back in time
    reads as the changes that would undo). Raises ``RoutingConfigVersion.DoesNotExist``."""
    rows = {
        v.number: v
        for v in RoutingConfigVersion.objects.select_related("author").filter(number__in=[old, new])
    }
    if old not in rows or new not in rows:
        raise RoutingConfigVersion.DoesNotExist(
            f"no configuration version {old if old not in rows else new}"
        )
    changes = config_diff(rows[old].document, rows[new].document)
    return {
        "from": _head(rows[old]),
        "to": _head(rows[new]),
        "changes": [change.as_dict() for change in changes],
    }


def changes_by_section(changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A diff's changes grouped under Rules, Territories, Reps, Accounts (empty ones kept)."""
    return [
        {"section": key, "title": title, "changes": [c for c in changes if c["section"] == key]}
        for key, title in SECTIONS
    ]
