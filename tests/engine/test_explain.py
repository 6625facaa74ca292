""" "Evaluate all rules" (explain_all): the decision is decide's, the later rules are reported."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from apps.engine import CompiledConfig, Explanation, LeadFacts, RotationState, explain_all

from .builders import NOW, config, lead, load, rep, rule, run

US_WEST = lead(country="US", region="US-CA", company_size=5000, industry="Healthcare")


def explain(
    compiled: CompiledConfig,
    the_lead: LeadFacts = US_WEST,
    *,
    loads: Any = (),
    rotations: dict[int, RotationState] | None = None,
    **kw: Any,
) -> Explanation:
    return explain_all(
        compiled,
        the_lead,
        loads={x.rep_id: x for x in loads},
        rotations=rotations or {},
        now=NOW,
        **kw,
    )


def shape(entry: dict[str, Any]) -> tuple[str, bool, str | None]:
    return entry["rule"], entry["matched"], entry["would_choose"]


FIVE_RULES = [
    rule(1, name="Small", conditions=[{"field": "company_size", "op": "lt", "value": 100}]),
    rule(2, name="Big West", conditions=[{"field": "company_size", "op": "gte", "value": 1000}]),
    rule(3, name="Retail", conditions=[{"field": "industry", "op": "eq", "value": "retail"}]),
    rule(4, name="Off", active=False),
    rule(5, name="East team", target={"territory": "US-EAST"}),
    rule(6, name="Catch-all", target={"territory": "$lead"}, strategy="load_balanced"),
]


def test_decision_is_identical_and_later_rules_say_whether_they_would_match() -> None:
    compiled = config(reps=[rep(1), rep(2), rep(3, territories=["US-EAST"])], rules=FIVE_RULES)
    rotations = {2: RotationState(rule_id=2, data={"US-WEST": {"last": 1}})}
    plain = run(compiled, US_WEST, rotations=rotations)
    explained = explain(compiled, rotations=rotations)

    assert explained.decision == plain
    assert (plain.rule_name, plain.username) == ("Big West", "rep2")
    # routing's own trace still stops at the deciding rule
    assert [r["rule"] for r in explained.decision.trace["rules"]] == ["Small", "Big West"]
    later = explained.later
    assert [shape(e) for e in later] == [
        ("Retail", False, None),
        ("Off", False, None),
        ("East team", True, "rep3"),
        # rep1 and rep2 both have no open leads and were never assigned: rep_id breaks the tie
        ("Catch-all", True, "rep1"),
    ]
    assert later[0]["detail"] == "industry eq 'retail' failed: lead has 'Healthcare'"
    assert later[1]["detail"] == "inactive"
    assert later[2]["detail"] == ("no conditions; would assign rep3 (round robin among 1 rep)")
    assert later[2]["candidates"] == [
        {"rep": "rep3", "eligible": True, "why": "next in rotation", "code": "eligible"}
    ]
    assert later[3]["pool"] == "US-WEST"
    assert [e["position"] for e in later] == [3, 4, 5, 6]
    json.dumps(later)  # stored and shown as JSON


def test_a_later_rule_with_no_one_eligible_says_why_per_candidate() -> None:
    compiled = config(
        reps=[rep(1), rep(2, territories=["US-EAST"])],
        rules=[
            rule(1, name="West"),
            rule(2, name="East", target={"territory": "US-EAST"}, when_no_one_eligible="hold"),
        ],
    )
    explained = explain(compiled, loads=[load(2, away=True)])
    assert explained.decision.username == "rep1"
    (east,) = explained.later
    assert (east["matched"], east["would_choose"]) == (True, None)
    assert east["detail"] == (
        "no conditions; no eligible rep among 1 in US-EAST; would hold the lead"
    )
    assert east["candidates"] == [{"rep": "rep2", "eligible": False, "why": "away", "code": "away"}]


def test_rules_after_a_holding_rule_are_evaluated_too() -> None:
    compiled = config(
        reps=[rep(1), rep(2, territories=["US-EAST"])],
        rules=[
            rule(1, name="West", when_no_one_eligible="hold"),
            rule(2, name="East", target={"territory": "US-EAST"}),
        ],
    )
    plain = run(compiled, US_WEST, loads=[load(1, away=True)])
    explained = explain(compiled, loads=[load(1, away=True)])
    assert explained.decision == plain and plain.hold is True
    assert [shape(e) for e in explained.later] == [("East", True, "rep2")]


def test_nothing_later_when_no_rule_decided_since_every_rule_was_evaluated() -> None:
    compiled = config(reps=[rep(1)], rules=[rule(1), rule(2)])
    explained = explain(compiled, loads=[load(1, away=True)])
    assert explained.decision.outcome == "unrouted" and explained.decision.rule_id is None
    assert explained.later == ()
    assert len(explained.decision.trace["rules"]) == 2


def test_account_owner_later_rule_without_an_account_does_not_apply() -> None:
    compiled = config(
        reps=[rep(1), rep(2)],
        rules=[rule(1, name="West"), rule(2, name="Named accounts", strategy="account_owner")],
        accounts={"acme.com": 2},
    )
    explained = explain(compiled)
    (named,) = explained.later
    assert (named["matched"], named["would_choose"]) == (True, None)
    assert named["detail"].endswith("; no account for 'example.com'")
    acme = explain(compiled, lead(email="kim@acme.com", country="US", region="US-CA"))
    assert shape(acme.later[0]) == ("Named accounts", True, "rep2")


def test_inputs_are_not_mutated_and_rotations_do_not_advance() -> None:
    compiled = config(reps=[rep(1), rep(2)], rules=[rule(1), rule(2)])
    rotations = {2: RotationState(rule_id=2, data={"US-WEST": {"last": 1}})}
    before = json.dumps({k: v.data for k, v in rotations.items()})
    explained = explain(compiled, rotations=rotations)
    assert json.dumps({k: v.data for k, v in rotations.items()}) == before
    # rule 2's cursor is on rep1, so it would take rep2, but nothing of that is persisted
    assert explained.later[0]["would_choose"] == "rep2"
    assert explained.decision.new_rotation == RotationState(
        rule_id=1, data={"US-WEST": {"last": 1}}
    )


@settings(max_examples=80, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 3000), min_size=1, max_size=6),
    lead_size=st.integers(0, 3000),
    away=st.sets(st.integers(1, 4)),
    holds=st.lists(st.booleans(), min_size=6, max_size=6),
)
def test_decision_never_changes_and_later_matches_agree_with_the_conditions(
    sizes: list[int], lead_size: int, away: set[int], holds: list[bool]
) -> None:
    compiled = config(
        reps=[rep(i) for i in range(1, 5)],
        rules=[
            rule(
                k + 1,
                conditions=[{"field": "company_size", "op": "gte", "value": size}],
                when_no_one_eligible="hold" if holds[k] else "next_rule",
            )
            for k, size in enumerate(sizes)
        ],
    )
    facts = lead(country="US", region="US-CA", company_size=lead_size)
    loads = [load(i, away=True) for i in away]
    plain = run(compiled, facts, loads=loads)
    explained = explain(compiled, facts, loads=loads)
    assert explained.decision == plain
    evaluated = len(plain.trace["rules"])
    if plain.rule_id is None:
        assert explained.later == ()
    else:
        assert evaluated + len(explained.later) == len(sizes)
        for entry, size in zip(explained.later, sizes[evaluated:], strict=True):
            assert entry["matched"] is (lead_size >= size)
            anyone = len(away) < 4
            assert (entry["would_choose"] is not None) is (entry["matched"] and anyone)
