"""The grammar table (engine/grammar.py) is what the compiler enforces: every field with every
op, given a value of the shape the table names, compiles exactly when the table lists the op."""

from __future__ import annotations

import pytest

from apps.engine import (
    CONDITION_OPS,
    KIND_OPS,
    LEAD_FIELDS,
    OP_VALUES,
    condition_grammar,
    field_kind,
)
from apps.engine.conditions import compile_conditions

#: a valid value of each shape, per kind of field (a date field compares to an ISO datetime)
SAMPLES = {
    "scalar": "x",
    "list": ["x", "y"],
    "number": 10,
    "text": "x",
    "boolean": True,
    "territory": "US-WEST",
}
FIELDS = [*sorted(LEAD_FIELDS), "extra.plan"]


def _sample(field: str, op: str) -> object:
    shape = OP_VALUES[op]
    if field == "territory" and shape in ("scalar", "list"):
        return "US-WEST" if shape == "scalar" else ["US-WEST"]
    if field_kind(field) == "number" and shape in ("scalar", "list"):
        return 5 if shape == "scalar" else [5, 6]
    if field_kind(field) == "datetime" and shape == "number":
        return "2026-01-01T00:00:00Z"
    return SAMPLES[shape]


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("op", sorted(CONDITION_OPS))
def test_the_compiler_accepts_exactly_the_ops_the_table_lists(field: str, op: str) -> None:
    errors: dict[str, list[str]] = {}
    compiled = compile_conditions(
        [{"field": field, "op": op, "value": _sample(field, op)}],
        "c",
        territory_codes=frozenset({"US-WEST"}),
        errors=errors,
    )
    accepted = op in KIND_OPS[field_kind(field)]
    assert bool(compiled) is accepted, errors
    if not accepted:
        assert list(errors) == ["c.0.op"]


def test_kinds_of_fields() -> None:
    assert field_kind("company_size") == "number"
    assert field_kind("created_at") == "datetime"
    assert field_kind("territory") == "territory"
    assert field_kind("extra.plan") == "extra"
    assert field_kind("country") == "text"
    grammar = condition_grammar()
    assert {f["name"] for f in grammar["fields"]} == LEAD_FIELDS
    assert grammar["groups"] == ["any", "all"]
    assert grammar["lead_target"] == "$lead"
