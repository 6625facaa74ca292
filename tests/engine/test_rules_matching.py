"""rules_matching: every rule `decide` could settle on for a lead (routing's rule lock set)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from apps.engine import rules_matching

from .builders import config, lead, load, rep, rule, run

RULES = [
    rule(1, name="Off", active=False),
    rule(2, name="Big", conditions=[{"field": "company_size", "op": "gte", "value": 1000}]),
    rule(3, name="East", target={"territory": "US-EAST"}, strategy="load_balanced"),
    rule(
        4,
        name="German",
        conditions=[{"field": "country", "op": "in", "value": ["DE"]}],
        strategy="weighted_round_robin",
    ),
    rule(5, name="Catch-all"),
]
COMPILED = config(reps=[rep(1), rep(2, territories=["US-EAST"])], rules=RULES)


def test_active_rules_whose_conditions_the_lead_meets_in_rule_order() -> None:
    big_west = lead(country="US", region="US-CA", company_size=5000)
    assert rules_matching(COMPILED, big_west) == [2, 3, 5]
    assert rules_matching(COMPILED, lead(country="DE", company_size=10)) == [3, 4, 5]


def test_rotating_only_leaves_out_rules_that_keep_no_cursor() -> None:
    big_west = lead(country="US", region="US-CA", company_size=5000)
    assert rules_matching(COMPILED, big_west, rotating_only=True) == [2, 5]


@settings(max_examples=200, deadline=None)
@given(
    size=st.one_of(st.none(), st.integers(0, 5000)),
    country=st.sampled_from(["US", "DE", "FR", ""]),
    away=st.sets(st.sampled_from([1, 2])),
)
def test_whatever_the_reps_availability_decide_settles_on_a_matching_rule(
    size: int | None, country: str, away: set[int]
) -> None:
    fields = {"country": country, "region": "US-CA" if country == "US" else None}
    facts = lead(**{k: v for k, v in fields.items() if v}, company_size=size)
    loads = [load(rep_id, away=True) for rep_id in away]
    decision = run(COMPILED, facts, loads=loads)
    if decision.rule_id is not None:
        assert decision.rule_id in rules_matching(COMPILED, facts)
