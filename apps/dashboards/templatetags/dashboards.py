"""The dashboards' template library: the shared figure filters (:mod:`apps.core.templatetags.figures`)
under the name the dashboards' templates load."""

from __future__ import annotations

from django import template

from apps.core.templatetags.figures import duration, percent

register = template.Library()
register.filter("duration", duration)
register.filter("percent", percent)
