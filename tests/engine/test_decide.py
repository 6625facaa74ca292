"""Rule order, when_no_one_eligible modes, exclusions, only_rule_id, trace shape and reasons."""

from __future__ import annotations

import json

from apps.engine import RotationState

from .builders import config, lead, load, rep, rule, run

US_WEST = lead(country="US", region="US-CA")


def test_first_matching_rule_with_an_eligible_rep_wins_and_later_rules_are_not_evaluated() -> None:
    compiled = config(
        reps=[rep(1), rep(2, territories=["US-EAST"])],
        rules=[
            rule(1, name="Off", active=False),
            rule(2, name="Big", conditions=[{"field": "company_size", "op": "gte", "value": 1000}]),
            rule(3, name="East", target={"territory": "US-EAST"}, sla_minutes=30),
            rule(4, name="Never reached"),
        ],
    )
    d = run(compiled, lead(country="US", region="US-CA", company_size=10))
    assert (d.outcome, d.username, d.rule_name, d.strategy, d.sla_minutes) == (
        "assigned",
        "rep2",
        "East",
        "round_robin",
        30,
    )
    rules = d.trace["rules"]
    assert [r["rule"] for r in rules] == ["Off", "Big", "East"]
    assert rules[0]["detail"] == "inactive" and rules[0]["matched"] is False
    assert rules[2]["chosen"] == "rep2"
    assert d.reason == "East: round robin among 1 rep of US-EAST"


def test_rules_run_in_position_order_not_list_order() -> None:
    compiled = config(
        reps=[rep(1), rep(2)],
        rules=[
            rule(1, position=5, target={"reps": [{"username": "rep1"}]}),
            rule(2, position=1, target={"reps": [{"username": "rep2"}]}),
        ],
    )
    assert run(compiled).username == "rep2"


def test_trace_shape_is_the_api_contract_and_json_serialisable() -> None:
    compiled = config(reps=[rep(1)], rules=[rule(1)])
    d = run(compiled)
    trace = json.loads(json.dumps(d.trace))
    assert set(trace) >= {"evaluated_at", "territory", "rules", "outcome"}
    assert trace["evaluated_at"] == "2026-03-04T15:30:00+00:00"
    assert trace["outcome"] == "assigned" and trace["territory"] == "US-WEST"
    entry = trace["rules"][0]
    assert set(entry) >= {"rule", "position", "matched", "detail", "candidates", "chosen"}
    assert entry["candidates"] == [
        {"rep": "rep1", "eligible": True, "why": "next in rotation", "code": "eligible"}
    ]


def test_next_rule_continues() -> None:
    compiled = config(
        reps=[rep(1), rep(2, territories=["US-EAST"])],
        rules=[rule(1), rule(2, target={"territory": "US-EAST"})],
    )
    d = run(compiled, loads=[load(1, away=True)])
    assert d.rule_id == 2
    assert d.trace["rules"][0]["matched"] is True and d.trace["rules"][0]["chosen"] is None
    assert "no eligible rep among 1 in US-WEST" in d.trace["rules"][0]["detail"]


def test_hold_stops_with_a_reason() -> None:
    compiled = config(
        reps=[rep(1), rep(2, territories=["US-EAST"])],
        rules=[
            rule(1, name="West", when_no_one_eligible="hold"),
            rule(2, target={"territory": "US-EAST"}),
        ],
    )
    d = run(compiled, loads=[load(1, away=True)])
    assert (d.outcome, d.hold, d.rule_id, d.username) == ("unrouted", True, 1, None)
    assert d.reason == "West: no eligible rep among 1 in US-WEST; the rule holds the lead"
    assert len(d.trace["rules"]) == 1 and d.trace["outcome"] == "unrouted"


def test_assign_anyway_ignores_availability_and_capacity_but_not_exclusion_or_active() -> None:
    compiled = config(
        reps=[rep(1, max_open_leads=1), rep(2, active=False), rep(3)],
        rules=[
            rule(1, name="West", when_no_one_eligible="assign_anyway", strategy="load_balanced")
        ],
    )
    d = run(compiled, loads=[load(1, open_leads=5), load(3, away=True, open_leads=9)])
    assert (d.outcome, d.username, d.forced) == ("assigned", "rep1", True)
    assert "assigned anyway" in d.reason
    assert d.trace["rules"][0]["forced"] is True
    d = run(
        compiled, loads=[load(1, open_leads=5), load(3, away=True)], exclude_rep_ids=frozenset({3})
    )
    assert d.username == "rep1"
    d = run(compiled, loads=[load(1, away=True)], exclude_rep_ids=frozenset({1, 3}))
    assert d.outcome == "unrouted" and not d.hold


def test_assign_anyway_keeps_the_strategy_and_rotation() -> None:
    compiled = config(reps=[rep(1), rep(2)], rules=[rule(1, when_no_one_eligible="assign_anyway")])
    d = run(
        compiled,
        loads=[load(1, away=True), load(2, away=True)],
        rotations={1: RotationState(rule_id=1, data={"US-WEST": {"last": 1}})},
    )
    assert (d.username, d.forced) == ("rep2", True)
    assert d.new_rotation is not None and d.new_rotation.data == {"US-WEST": {"last": 2}}


def test_nothing_matches_or_nobody_eligible_is_unrouted_with_a_reason() -> None:
    compiled = config(
        reps=[rep(1)], rules=[rule(1, conditions=[{"field": "country", "op": "eq", "value": "DE"}])]
    )
    d = run(compiled)
    assert (d.outcome, d.hold, d.rule_id) == ("unrouted", False, None)
    assert d.reason == "No rule matched this lead (1 rules evaluated)"
    compiled = config(reps=[rep(1), rep(2)], rules=[rule(1), rule(2)])
    d = run(compiled, loads=[load(1, away=True), load(2, away=True)])
    assert (
        d.reason
        == "No rule found an eligible rep (2 rules matched, 0 eligible reps among 4 candidates)"
    )


def test_exclude_rep_ids_moves_to_someone_who_has_not_held_it() -> None:
    compiled = config(reps=[rep(1), rep(2)], rules=[rule(1)])
    d = run(compiled, exclude_rep_ids=frozenset({1}))
    assert d.username == "rep2"
    assert d.trace["rules"][0]["candidates"][0] == {
        "rep": "rep1",
        "eligible": False,
        "why": "already held this lead",
        "code": "already_held",
    }


def test_only_rule_id_reruns_just_that_rule() -> None:
    compiled = config(
        reps=[rep(1), rep(2, territories=["US-EAST"])],
        rules=[rule(1), rule(2, target={"territory": "US-EAST"})],
    )
    d = run(compiled, only_rule_id=2)
    assert d.username == "rep2" and [r["rule_id"] for r in d.trace["rules"]] == [2]
    d = run(compiled, only_rule_id=2, loads=[load(2, away=True)])
    assert d.outcome == "unrouted"
    d = run(compiled, only_rule_id=99)
    assert d.outcome == "unrouted" and d.reason == "Rule 99 no longer exists"


def test_trace_candidates_are_capped_with_an_omitted_count() -> None:
    compiled = config(
        reps=[rep(i) for i in range(1, 41)], rules=[rule(1, strategy="weighted_round_robin")]
    )
    d = run(compiled)
    entry = d.trace["rules"][0]
    assert len(entry["candidates"]) <= 26
    assert len(entry["candidates"]) + entry["omitted"] == 40
    assert entry["chosen"] in {c["rep"] for c in entry["candidates"]}


def test_rotation_state_of_other_pools_is_preserved() -> None:
    compiled = config(reps=[rep(1), rep(2)], rules=[rule(1)])
    d = run(compiled, rotations={1: RotationState(rule_id=1, data={"US-EAST": {"last": 7}})})
    assert d.new_rotation is not None
    assert d.new_rotation.data == {"US-EAST": {"last": 7}, "US-WEST": {"last": 1}}


def test_inputs_are_not_mutated() -> None:
    compiled = config(reps=[rep(1), rep(2)], rules=[rule(1)])
    data = {"US-WEST": {"last": 1}}
    rotations = {1: RotationState(rule_id=1, data=data)}
    run(compiled, rotations=rotations)
    assert data == {"US-WEST": {"last": 1}}
