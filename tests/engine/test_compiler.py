"""ConfigError: every validation, every error collected, each under its path."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from apps.engine import ConfigError, TerritoryDef, TimeOffPeriod

from .builders import UTC, config, hours, rep, rule


def _errors(**kw: Any) -> dict[str, list[str]]:
    with pytest.raises(ConfigError) as exc:
        config(**kw)
    return exc.value.errors


@pytest.mark.parametrize(
    ("rule_kw", "path", "message"),
    [
        (
            {"conditions": [{"field": "colour", "op": "eq", "value": "red"}]},
            "rules.0.conditions.0.field",
            "unknown field 'colour'",
        ),
        (
            {"conditions": [{"field": "country", "op": "like", "value": "US"}]},
            "rules.0.conditions.0.op",
            "unknown op 'like'",
        ),
        (
            {"conditions": [{"field": "company_size", "op": "gte", "value": "big"}]},
            "rules.0.conditions.0.value",
            "'gte' needs a number, got 'big'",
        ),
        (
            {"conditions": [{"field": "country", "op": "gt", "value": 3}]},
            "rules.0.conditions.0.op",
            "'gt' needs a numeric field; 'country' is text",
        ),
        (
            {"conditions": [{"field": "country", "op": "in", "value": "US"}]},
            "rules.0.conditions.0.value",
            "'in' needs a non-empty list of strings or numbers",
        ),
        (
            {"conditions": [{"field": "country", "op": "in", "value": []}]},
            "rules.0.conditions.0.value",
            "'in' needs a non-empty list of strings or numbers",
        ),
        (
            {"conditions": [{"field": "title", "op": "contains", "value": 3}]},
            "rules.0.conditions.0.value",
            "'contains' needs a non-empty string",
        ),
        (
            {"conditions": [{"field": "title", "op": "exists", "value": "yes"}]},
            "rules.0.conditions.0.value",
            "'exists' needs true or false",
        ),
        (
            {"conditions": [{"field": "country", "op": "eq", "value": None}]},
            "rules.0.conditions.0.value",
            "'eq' needs a string, number or boolean, got null",
        ),
        (
            {"conditions": [{"field": "company_size", "op": "eq", "value": "many"}]},
            "rules.0.conditions.0.value",
            "'company_size' is a number; 'many' is not",
        ),
        (
            {"conditions": [{"field": "territory", "op": "within", "value": "MARS"}]},
            "rules.0.conditions.0.value",
            "unknown territory 'MARS'",
        ),
        (
            {"conditions": [{"field": "territory", "op": "eq", "value": "MARS"}]},
            "rules.0.conditions.0.value",
            "unknown territory 'MARS'",
        ),
        (
            {"conditions": [{"field": "country", "op": "within", "value": "AMER"}]},
            "rules.0.conditions.0.op",
            "'within' applies to the field 'territory' only",
        ),
        (
            {"conditions": [{"field": "created_at", "op": "gt", "value": "yesterday"}]},
            "rules.0.conditions.0.value",
            "'gt' on created_at needs an ISO 8601 datetime",
        ),
        (
            {"conditions": [{"any": []}]},
            "rules.0.conditions.0.any",
            "'any' needs a non-empty list of conditions",
        ),
        (
            {"conditions": [{"any": [{"field": "x", "op": "eq", "value": 1}]}]},
            "rules.0.conditions.0.any.0.field",
            "unknown field 'x'",
        ),
        (
            {"conditions": ["country = US"]},
            "rules.0.conditions.0",
            "a condition must be an object with field, op and value, or any",
        ),
        (
            {"conditions": [{"field": "country", "op": "eq", "value": "US", "note": 1}]},
            "rules.0.conditions.0",
            "unknown keys: note",
        ),
        ({"conditions": {"field": "country"}}, "rules.0.conditions", "conditions must be a list"),
        ({"strategy": "random"}, "rules.0.strategy", "unknown strategy 'random'"),
        (
            {"when_no_one_eligible": "panic"},
            "rules.0.when_no_one_eligible",
            "unknown value 'panic'; use next_rule, hold or assign_anyway",
        ),
        ({"target": {"territory": "MARS"}}, "rules.0.target.territory", "unknown territory 'MARS'"),
        (
            {"target": {"reps": [{"username": "ghost"}]}},
            "rules.0.target.reps.0.username",
            "unknown rep 'ghost'",
        ),
        (
            {"target": {"reps": [{"username": "rep1", "weight": -1}]}},
            "rules.0.target.reps.0.weight",
            "weight must be an integer, 0 or more",
        ),
        (
            {"target": {"reps": []}},
            "rules.0.target.reps",
            'reps must be a non-empty list of {"username", "weight"?}',
        ),
        (
            {"target": {"queue": "x"}},
            "rules.0.target",
            'target must be {"territory": CODE}, {"territory": "$lead"} or {"reps": [...]}',
        ),
        ({"target": None}, "rules.0.target", "a target is required for round_robin"),
        (
            {"strategy": "account_owner", "target": {"territory": "AMER"}},
            "rules.0.target",
            "account_owner takes no target: it picks the account's owner",
        ),
        ({"require_skill_from": "colour"}, "rules.0.require_skill_from", "unknown field 'colour'"),
        ({"sla_minutes": 0}, "rules.0.sla_minutes", "must be a positive number of minutes"),
        ({"name": " "}, "rules.0.name", "a rule needs a name"),
    ],
)
def test_rule_errors(rule_kw: dict[str, Any], path: str, message: str) -> None:
    errors = _errors(reps=[rep(1)], rules=[rule(1, **rule_kw)])
    assert errors == {path: [message]}


def test_all_errors_are_collected() -> None:
    errors = _errors(
        reps=[rep(1), rep(1), rep(2, time_zone="Mars/Base", territories=["MARS"])],
        rules=[
            rule(
                1,
                conditions=[
                    {"field": "colour", "op": "eq", "value": 1},
                    {"any": [{"field": "country", "op": "nope", "value": 1}]},
                ],
            ),
            rule(1, strategy="random"),
        ],
        accounts={"acme.com": 99},
    )
    assert set(errors) == {
        "reps.1.rep_id",
        "reps.1.username",
        "reps.2.time_zone",
        "reps.2.territories",
        "rules.0.conditions.0.field",
        "rules.0.conditions.1.any.0.op",
        "rules.1.rule_id",
        "rules.1.strategy",
        "accounts.acme.com",
    }
    assert errors["accounts.acme.com"] == ["unknown owner rep id 99"]


def test_territory_tree_errors() -> None:
    errors = _errors(
        territories=[
            TerritoryDef(code="A", parent="B"),
            TerritoryDef(code="B", parent="A"),
            TerritoryDef(code="C", parent="NOPE"),
            TerritoryDef(code="C"),
            TerritoryDef(code="D", parent="D"),
        ]
    )
    assert errors["territories.0.parent"] == ["parent cycle: A -> B -> A"]
    assert errors["territories.1.parent"] == ["parent cycle: B -> A -> B"]
    assert errors["territories.2.parent"] == ["unknown parent territory 'NOPE'"]
    assert errors["territories.3.code"] == ["duplicate territory code 'C'"]
    assert errors["territories.4.parent"] == ["parent cycle: D -> D"]


def test_rep_errors() -> None:
    start = datetime.datetime(2026, 1, 2, tzinfo=UTC)
    errors = _errors(
        reps=[
            rep(
                1,
                weight=-1,
                max_open_leads=-1,
                max_daily_leads=-2,
                working_hours=(hours([7], "09:00", "17:00"),),
                time_off=(TimeOffPeriod(starts_at=start, ends_at=start, reason=""),),
            ),
            rep(2, username="rep1"),
        ]
    )
    assert set(errors) == {
        "reps.0.weight",
        "reps.0.max_open_leads",
        "reps.0.max_daily_leads",
        "reps.0.working_hours.0.weekdays",
        "reps.0.time_off.0.ends_at",
        "reps.1.username",
    }


def test_config_error_message_names_the_first_path() -> None:
    with pytest.raises(ConfigError, match=r"1 configuration error\(s\), first: rules.0.strategy"):
        config(reps=[rep(1)], rules=[rule(1, strategy="random")])


def test_valid_config_compiles() -> None:
    compiled = config(
        reps=[rep(1)],
        rules=[rule(1), rule(2, strategy="account_owner"), rule(3, target={"territory": "$lead"})],
        accounts={"Acme.com": 1},
    )
    assert [r.rule_id for r in compiled.rules] == [1, 2, 3]
    assert compiled.accounts == {"acme.com": 1}
