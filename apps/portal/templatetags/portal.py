"""Template helpers of the pages: SLA countdowns in words."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import timezone

register = template.Library()


def _span(seconds: float) -> str:
    minutes = int(abs(seconds) // 60)
    if minutes < 1:
        return "less than a minute"
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [
        f"{days} d" if days else "",
        f"{hours} h" if hours else "",
        f"{minutes} min" if minutes and not days else "",
    ]
    return " ".join(part for part in parts if part)


@register.filter
def sla_left(due: datetime | None) -> str:
    """ "due in 25 min" / "overdue by 1 h 5 min" (the page's script keeps it current)."""
    if due is None:
        return ""
    seconds = (due - timezone.now()).total_seconds()
    return f"due in {_span(seconds)}" if seconds >= 0 else f"overdue by {_span(seconds)}"


@register.filter
def is_overdue(due: datetime | None) -> bool:
    return due is not None and due <= timezone.now()


@register.filter
def waited(since: datetime | None) -> str:
    """How long ago, in words: "waiting 2 h 5 min"."""
    if since is None:
        return ""
    return _span((timezone.now() - since).total_seconds())
