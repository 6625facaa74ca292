"""Who is a manager, who is a rep (API.md "Roles")."""

from __future__ import annotations

from typing import Any

MANAGERS_GROUP = "RevOps managers"


def user_is_manager(user: Any) -> bool:
    """A superuser or a member of the `RevOps managers` group."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_superuser:
        return True
    cached = getattr(user, "_is_revops_manager", None)
    if cached is None:
        cached = user.groups.filter(name=MANAGERS_GROUP).exists()
        user._is_revops_manager = cached
    return bool(cached)


def user_rep(user: Any) -> Any | None:
    """The Rep linked to this user, or None."""
    if not getattr(user, "is_authenticated", False):
        return None
    try:
        return user.rep
    except Exception:  # RelatedObjectDoesNotExist
        return None
