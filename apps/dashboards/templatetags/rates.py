"""Template filters of the conversion dashboard: a rate's interval as people read it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import template

register = template.Library()


@register.filter
def interval(row: Mapping[str, Any]) -> str:
    """A row's ``ci_low``/``ci_high`` as ``"10.8–60.3%"`` (one percent sign keeps it short on a
    phone), "–" when there is none."""
    low, high = row.get("ci_low"), row.get("ci_high")
    if low is None or high is None:
        return "–"
    return f"{low * 100:.1f}–{high * 100:.1f}%"
