"""Read side of routing rules: the ordered list and each rule's change history."""

from __future__ import annotations

import datetime
from typing import Any, TypedDict

from django.db.models import QuerySet

from apps.rules.models import RoutingRule

__all__ = ["RuleChange", "rule_history", "rule_list"]

#: bookkeeping columns that change on every save and say nothing to an auditor
_QUIET_FIELDS = ["created_at", "updated_at"]


class RuleChange(TypedDict):
    at: datetime.datetime
    user: str | None
    summary: str


def rule_list() -> QuerySet[RoutingRule]:
    """Every rule in routing order."""
    return RoutingRule.objects.order_by("position", "id")


def rule_history(*, rule: RoutingRule | int) -> list[RuleChange]:
    """Who changed what on a rule, oldest first ("created", "conditions, sla_minutes changed")."""
    rule_id = rule.pk if isinstance(rule, RoutingRule) else rule
    records: list[Any] = list(
        RoutingRule.history.filter(id=rule_id)
        .select_related("history_user")
        .order_by("history_date", "history_id")
    )
    changes: list[RuleChange] = []
    previous = None
    for record in records:
        if record.history_type == "+":
            summary = "created"
        elif record.history_type == "-":
            summary = "deleted"
        elif previous is None:
            summary = "changed"
        else:
            delta = record.diff_against(previous, excluded_fields=_QUIET_FIELDS)
            fields = [change.field for change in delta.changes]
            if not fields:
                previous = record
                continue  # saved without a visible change
            summary = ", ".join(fields) + " changed"
        user = record.history_user
        changes.append(
            {
                "at": record.history_date,
                "user": user.get_username() if user else None,
                "summary": summary,
            }
        )
        previous = record
    return changes
