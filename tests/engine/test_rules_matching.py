"""What a lead could touch, before anyone is picked: the rules (`rules_matching`) whose rotation
rows routing and the sweep lock, and the reps (`reps_reachable`) a sweep page locks."""

from __future__ import annotations

import itertools

from apps.engine import RotationState, reps_reachable, rules_matching

from .builders import config, lead, load, rep, rule, run

REPS = [
    rep(1),  # US-WEST
    rep(2, territories=["SF"]),
    rep(3, territories=["US-EAST"]),
    rep(4, territories=["DACH"]),
    rep(5, territories=["EMEA"]),
    rep(6, territories=["APAC"]),
]
RULES = [
    rule(1, name="Off", active=False, target={"territory": "APAC"}),
    rule(
        2,
        name="Big west",
        conditions=[{"field": "company_size", "op": "gte", "value": 1000}],
        target={"territory": "US-WEST"},
    ),
    rule(
        3,
        name="German listed",
        conditions=[{"field": "country", "op": "eq", "value": "DE"}],
        target={"reps": ["rep4", {"username": "rep3", "weight": 2}]},
        strategy="weighted_round_robin",
    ),
    rule(4, name="Owner", strategy="account_owner"),
    rule(5, name="Everyone", target={"territory": "$lead"}, strategy="load_balanced"),
]
COMPILED = config(reps=REPS, rules=RULES, accounts={"acme.com": 6})


def test_rules_matching_lists_the_active_rules_a_lead_meets_and_the_rotating_ones():
    big_sf = lead(country="US", region="US-CA", postal_code="94105", company_size=5000)
    assert rules_matching(COMPILED, big_sf) == [2, 4, 5]
    assert rules_matching(COMPILED, big_sf, rotating_only=True) == [2]
    munich = lead(country="DE", postal_code="80331", email="x@eu.acme.com")
    assert rules_matching(COMPILED, munich) == [3, 4, 5]
    assert rules_matching(COMPILED, munich, rotating_only=True) == [3]


def test_reps_reachable_covers_fixed_pools_listed_reps_accounts_and_the_whole_lead_walk():
    # Big west: US-WEST and its descendant SF (1, 2); $lead from SF walks SF, US-WEST, AMER and
    # WORLD, the last holding every rep; so everyone is reachable.
    big_sf = lead(country="US", region="US-CA", postal_code="94105", company_size=5000)
    assert reps_reachable(COMPILED, big_sf) == frozenset({1, 2, 3, 4, 5, 6})
    # Listed reps 3 and 4, the account owner 6 (eu.acme.com is acme.com's), and the walk.
    munich = lead(country="DE", postal_code="80331", email="x@eu.acme.com")
    assert reps_reachable(COMPILED, munich) == frozenset({1, 2, 3, 4, 5, 6})
    # Without the catch-all the walk is gone: only what the rules met name.
    narrow = config(reps=REPS, rules=RULES[:4], accounts={"acme.com": 6})
    assert reps_reachable(narrow, big_sf) == frozenset({1, 2})
    assert reps_reachable(narrow, munich) == frozenset({3, 4, 6})
    assert reps_reachable(narrow, lead(country="JP")) == frozenset()
    assert reps_reachable(narrow, lead(country="US", region="US-NY", company_size=5)) == (
        frozenset()
    )


def test_decide_never_picks_a_rep_or_rule_outside_what_the_lead_could_touch():
    """Whatever the loads, exclusions and cursors, every pick lies in the locked sets."""
    narrow = config(
        reps=REPS,
        rules=[*RULES[:4], rule(6, name="East", target={"territory": "US-EAST"})],
        accounts={"acme.com": 6},
    )
    leads = [
        lead(country="US", region="US-CA", postal_code="94105", company_size=5000),
        lead(country="US", region="US-CA", company_size=10),
        lead(country="DE", postal_code="80331", email="x@eu.acme.com"),
        lead(country="GB", email="y@acme.com"),
        lead(country="JP"),
    ]
    picked = 0
    for facts, excluded, full in itertools.product(
        leads, ([], [1], [1, 2], [3, 4], [6]), (True, False)
    ):
        loads = [load(rep_id, open_leads=rep_id) for rep_id in range(1, 7)]
        rotations = {3: RotationState(rule_id=3, data={})}
        for only in [None] if full else rules_matching(narrow, facts):
            d = run(
                narrow,
                facts,
                loads=loads,
                rotations=rotations,
                exclude_rep_ids=frozenset(excluded),
                only_rule_id=only,
            )
            if d.outcome == "assigned":
                picked += 1
                assert d.rep_id in reps_reachable(narrow, facts)
                assert d.rule_id in rules_matching(narrow, facts)
    assert picked > 20
