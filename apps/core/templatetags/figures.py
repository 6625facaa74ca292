"""Template filters of the read side (dashboards, audit): seconds and rates as people read them."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def duration(seconds: float | None) -> str:
    """``95`` -> "1 min 35 s", ``5400`` -> "1 h 30 min", None -> "–"."""
    if seconds is None:
        return "–"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


@register.filter
def percent(rate: float | None) -> str:
    """``0.8333`` -> "83.3%", None -> "–"."""
    return "–" if rate is None else f"{rate * 100:.1f}%"
