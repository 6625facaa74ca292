"""The dashboards' template library: the shared figure filters (:mod:`apps.core.templatetags.figures`)
under the name the dashboards' templates load."""

from __future__ import annotations

from django import template

from apps.core.templatetags.figures import duration, percent

register = template.Library()
register.filter("duration", duration)
register.filter("percent", percent)


@register.filter
def points(delta: float | None) -> str:
    """A change of rate in percentage points: ``0.012`` -> "+1.2 points", ``-0.005`` -> "−0.5
    points", None -> "–"."""
    if delta is None:
        return "–"
    sign = "+" if delta > 0 else "−" if delta < 0 else ""
    return f"{sign}{abs(delta) * 100:.1f} points"
