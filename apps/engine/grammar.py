"""The condition and target grammar as data: which ops each kind of field takes, what value each
op needs, which strategies read a target's weights. The compiler enforces it; editors (the
admin's rule builder) read it, so there is one definition of what a valid rule is.
"""

from __future__ import annotations

from typing import Any

from .types import CONDITION_OPS, LEAD_FIELDS, NUMERIC_FIELDS, STRATEGIES

__all__ = [
    "DATETIME_FIELDS",
    "GROUPS",
    "KIND_OPS",
    "LEAD_TARGET",
    "OP_VALUES",
    "TARGETLESS_STRATEGIES",
    "WEIGHTED_STRATEGIES",
    "condition_grammar",
    "field_kind",
    "op_accepted",
]

#: the target that means "the lead's own territory, then its parents"
LEAD_TARGET = "$lead"
#: fields compared as datetimes by gt..lte (ISO 8601 values)
DATETIME_FIELDS: frozenset[str] = frozenset({"created_at"})
#: condition groups: a member list that holds when one ("any") or every ("all") member holds
GROUPS: tuple[str, ...] = ("any", "all")

_TEXT_OPS = ("eq", "ne", "in", "not_in", "contains", "starts_with", "ends_with", "exists")
_COMPARE_OPS = ("gt", "gte", "lt", "lte")
_COMPARE_OPS_FIRST = ("gte", "gt", "lte", "lt")

#: kind of field -> the ops it accepts, most useful first. Text ops on numbers and dates compare
#: their text (``company_size starts_with 1``): odd, but valid, and kept for existing rules.
KIND_OPS: dict[str, tuple[str, ...]] = {
    "text": _TEXT_OPS,
    "number": (*_COMPARE_OPS_FIRST, "eq", "ne", "in", "not_in", "exists", *_TEXT_OPS[4:7]),
    "datetime": (*_COMPARE_OPS_FIRST, *_TEXT_OPS),
    "territory": ("within", *_TEXT_OPS),
    "extra": (*_TEXT_OPS[:4], *_COMPARE_OPS, *_TEXT_OPS[4:]),
}

#: op -> the value it needs: one scalar, a non-empty list, a non-empty string, a number (or an
#: ISO datetime on a date field), true/false, or a territory code
OP_VALUES: dict[str, str] = {
    "eq": "scalar",
    "ne": "scalar",
    "in": "list",
    "not_in": "list",
    "gt": "number",
    "gte": "number",
    "lt": "number",
    "lte": "number",
    "contains": "text",
    "starts_with": "text",
    "ends_with": "text",
    "exists": "boolean",
    "within": "territory",
}

#: strategies whose pick reads the weights listed in a {"reps": [...]} target
WEIGHTED_STRATEGIES: frozenset[str] = frozenset({"weighted_round_robin"})
#: strategies that take no target (they find their rep elsewhere)
TARGETLESS_STRATEGIES: frozenset[str] = frozenset({"account_owner"})

assert set(OP_VALUES) == CONDITION_OPS
assert all(set(ops) <= CONDITION_OPS for ops in KIND_OPS.values())
assert WEIGHTED_STRATEGIES | TARGETLESS_STRATEGIES <= STRATEGIES


def field_kind(field: str) -> str:
    """ "number", "datetime", "territory", "extra" (``extra.<key>``) or "text"."""
    if field in NUMERIC_FIELDS:
        return "number"
    if field in DATETIME_FIELDS:
        return "datetime"
    if field == "territory":
        return "territory"
    if field.startswith("extra."):
        return "extra"
    return "text"


def op_accepted(field: str, op: str) -> bool:
    """Whether ``op`` applies to ``field`` at all (its value is checked separately)."""
    return op in KIND_OPS[field_kind(field)]


def condition_grammar() -> dict[str, Any]:
    """The grammar as JSON for editors: fields with their kind, ops per kind, value per op."""
    return {
        "fields": [{"name": f, "kind": field_kind(f)} for f in sorted(LEAD_FIELDS)],
        "extra_prefix": "extra.",
        "kind_ops": {kind: list(ops) for kind, ops in KIND_OPS.items()},
        "op_values": dict(OP_VALUES),
        "groups": list(GROUPS),
        "lead_target": LEAD_TARGET,
        "weighted_strategies": sorted(WEIGHTED_STRATEGIES),
        "targetless_strategies": sorted(TARGETLESS_STRATEGIES),
    }
