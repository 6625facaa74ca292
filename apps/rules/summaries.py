"""One-line, human-readable summaries of rule conditions and targets (admin, audit pages)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["OP_LABELS", "conditions_summary", "target_summary"]

OP_LABELS = {
    "eq": "=",
    "ne": "≠",
    "in": "in",
    "not_in": "not in",
    "gt": ">",
    "gte": "≥",
    "lt": "<",
    "lte": "≤",
    "contains": "contains",
    "starts_with": "starts with",
    "ends_with": "ends with",
    "within": "within",
}
#: fields whose values are codes, shown bare (`territory within US-WEST`)
_CODE_FIELDS = {"territory", "country", "region", "language"}


def _value(field: str, value: Any) -> str:
    if isinstance(value, list | tuple):
        return "(" + ", ".join(_value(field, v) for v in value) + ")"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return value if field in _CODE_FIELDS else json.dumps(value, ensure_ascii=False)
    return json.dumps(value, ensure_ascii=False, default=str)


def _condition(cond: Any) -> str:
    if isinstance(cond, Mapping):
        for key, joiner in (("any", " OR "), ("all", " AND ")):
            if key in cond and isinstance(cond[key], list | tuple):
                parts = [_condition(c) for c in cond[key]]
                if not parts:
                    return "(nothing)" if key == "any" else "(always)"
                text = joiner.join(parts)
                return f"({text})" if len(parts) > 1 else text
        field = str(cond.get("field", "?"))
        op = str(cond.get("op", "?"))
        if op == "exists":
            return f"{field} exists" if cond.get("value", True) else f"{field} is missing"
        label = OP_LABELS.get(op, op)
        return f"{field} {label} {_value(field, cond.get('value'))}"
    return json.dumps(cond, ensure_ascii=False, default=str)


def conditions_summary(conditions: Any) -> str:
    """`company_size ≥ 1000 AND territory within US-WEST AND (lead_source = "webinar" OR …)`.

    Empty conditions match every lead. Never raises, even on malformed input.
    """
    if not conditions:
        return "every lead"
    if isinstance(conditions, Mapping):
        conditions = [conditions]
    if not isinstance(conditions, list | tuple):
        return json.dumps(conditions, ensure_ascii=False, default=str)
    return " AND ".join(_condition(c) for c in conditions)


def target_summary(target: Any, strategy: str | None = None) -> str:
    """`territory US-WEST`, `the lead's territory (then its parents)`, `reps alice ×2, bob`."""
    if not target:
        return "the account owner" if strategy == "account_owner" else "—"
    if isinstance(target, Mapping):
        if "territory" in target:
            code = target["territory"]
            if code == "$lead":
                return "the lead's territory (then its parents)"
            return f"territory {code}"
        if "reps" in target and isinstance(target["reps"], list | tuple):
            names = []
            for entry in target["reps"]:
                if isinstance(entry, Mapping):
                    name = str(entry.get("username", "?"))
                    weight = entry.get("weight")
                    names.append(f"{name} ×{weight}" if weight not in (None, 1) else name)
                else:
                    names.append(str(entry))
            return "reps " + ", ".join(names) if names else "no reps"
    return json.dumps(target, ensure_ascii=False, default=str)
