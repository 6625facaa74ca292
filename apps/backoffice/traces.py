"""A routing trace (apps/engine/decide.py) as rows a manager reads, for the admin's templates.

The same rendering serves "Test a lead" (a simulated decision, and with "evaluate all rules" the
rules after the deciding one) and a lead's page (the decision recorded with its assignment). The
rows come from :func:`apps.routing.trace.trace_readable`, the same words the API gives
(``GET /api/leads/{id}/``); here only the moment becomes a datetime for the template.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from apps.routing.trace import WHY_LABELS
from apps.routing.trace import trace_readable as trace_rows

__all__ = ["WHY_LABELS", "later_readable", "trace_html", "trace_readable"]

TEMPLATE = "admin/routing/_trace.html"


def _moment(value: Any) -> datetime | None:
    """The stored ISO moment as an aware datetime (templates show it in the viewer's zone)."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def trace_readable(trace: Any) -> dict[str, Any]:
    """The trace as plain rows: outcome, reason, one row per rule evaluated, its candidates."""
    rows = trace_rows(trace, full=True)
    rows["evaluated_at"] = _moment(rows.get("evaluated_at"))
    return rows


def later_readable(later: Any) -> list[dict[str, Any]]:
    """The rules after the deciding one ("evaluate all rules"), as the same rows."""
    return trace_rows({"rules": list(later)}, full=True)["rules"]


def trace_html(trace: Any, *, raw: bool = True, **context: Any) -> SafeString:
    """The readable trace as HTML; ``raw`` adds the stored JSON in a collapsed block."""
    return render_to_string(
        TEMPLATE,
        {
            "trace": trace_readable(trace),
            "raw": json.dumps(trace, indent=2, ensure_ascii=False, default=str) if raw else "",
            **context,
        },
    )
