"""Each strategy's choice, rotation state format, and reasons."""

from __future__ import annotations

import datetime

from apps.engine import RotationState

from .builders import NOW, config, lead, load, rep, rule, run


def _rr(n: int = 4, **kw: object) -> object:
    return config(reps=[rep(i) for i in range(1, n + 1)], rules=[rule(1, **kw)])


def test_round_robin_rotates_in_rep_id_order_and_skips_ineligible() -> None:
    compiled = config(reps=[rep(3), rep(1), rep(2)], rules=[rule(1, name="West")])
    rotations: dict[int, RotationState] = {}
    picks = []
    for _ in range(4):
        d = run(compiled, rotations=rotations)
        picks.append(d.username)
        assert d.new_rotation is not None
        rotations = {1: d.new_rotation}
    assert picks == ["rep1", "rep2", "rep3", "rep1"]
    assert rotations[1].data == {"US-WEST": {"last": 1}}
    d = run(
        compiled,
        rotations={1: RotationState(rule_id=1, data={"US-WEST": {"last": 1}})},
        loads=[load(2, away=True)],
    )
    assert d.username == "rep3"
    assert d.reason == "West: round robin among 3 reps (skipped 1 ineligible) of US-WEST"
    assert [c["rep"] for c in d.trace["rules"][0]["candidates"]] == ["rep2", "rep3"]


def test_round_robin_cursor_of_a_removed_rep_continues_after_it() -> None:
    compiled = config(reps=[rep(1), rep(5), rep(9)], rules=[rule(1)])
    d = run(compiled, rotations={1: RotationState(rule_id=1, data={"US-WEST": {"last": 6}})})
    assert d.username == "rep9"


def test_weighted_round_robin_is_smooth() -> None:
    compiled = config(
        reps=[rep(1, weight=5), rep(2, weight=1), rep(3, weight=1)],
        rules=[rule(1, strategy="weighted_round_robin")],
    )
    rotations: dict[int, RotationState] = {}
    picks = []
    for _ in range(7):
        d = run(compiled, rotations=rotations)
        picks.append(d.username)
        assert d.new_rotation is not None
        rotations = {1: d.new_rotation}
    # nginx's example: a a b a c a a -> interleaved, not bunched
    assert picks == ["rep1", "rep1", "rep2", "rep1", "rep3", "rep1", "rep1"]
    assert "cw" in rotations[1].data["US-WEST"]  # type: ignore[operator]


def test_weight_zero_is_never_picked() -> None:
    compiled = config(
        reps=[rep(1, weight=0), rep(2)], rules=[rule(1, strategy="weighted_round_robin")]
    )
    d = run(compiled)
    assert d.username == "rep2"
    assert (
        dict((c["rep"], c["why"]) for c in d.trace["rules"][0]["candidates"])["rep1"] == "weight 0"
    )


def test_load_balanced_fewest_open_then_idle_longest_then_id() -> None:
    compiled = config(
        reps=[rep(i) for i in range(1, 5)], rules=[rule(1, name="LB", strategy="load_balanced")]
    )
    earlier = NOW - datetime.timedelta(hours=5)
    later = NOW - datetime.timedelta(hours=1)
    loads = [
        load(1, open_leads=3),
        load(2, open_leads=1, last_assigned_at=later),
        load(3, open_leads=1, last_assigned_at=earlier),
        load(4, open_leads=1, last_assigned_at=earlier),
    ]
    d = run(compiled, loads=loads)
    assert d.username == "rep3"
    assert d.new_rotation is None
    assert d.reason.startswith("LB: fewest open leads (1) among 4 reps of US-WEST")
    loads.append(load(5))
    compiled = config(reps=[rep(i) for i in range(1, 6)], rules=[rule(1, strategy="load_balanced")])
    assert (
        run(compiled, loads=loads[:4]).username == "rep5"
    )  # missing load: zero open, never assigned
    # never assigned beats any assignment time at equal load
    loads2 = [load(1, open_leads=1, last_assigned_at=earlier), load(2, open_leads=1)]
    assert (
        run(
            config(reps=[rep(1), rep(2)], rules=[rule(1, strategy="load_balanced")]), loads=loads2
        ).username
        == "rep2"
    )


def test_load_balanced_lists_everyone_ranked_ahead_as_ineligible() -> None:
    compiled = config(
        reps=[rep(i, max_open_leads=5) for i in range(1, 5)],
        rules=[rule(1, strategy="load_balanced")],
    )
    d = run(
        compiled,
        loads=[
            load(1, open_leads=5),
            load(2, open_leads=2, away=True),
            load(3, open_leads=3),
            load(4, open_leads=4),
        ],
    )
    assert d.username == "rep3"
    cands = {c["rep"]: c for c in d.trace["rules"][0]["candidates"]}
    assert cands["rep2"]["why"] == "away" and not cands["rep2"]["eligible"]
    assert cands["rep3"]["eligible"] and cands["rep3"]["why"].startswith("eligible, 3 open leads")


def test_account_owner_matches_parent_domain() -> None:
    compiled = config(
        reps=[rep(1), rep(2)],
        rules=[rule(1, name="Named", strategy="account_owner"), rule(2)],
        accounts={"acme.com": 2},
    )
    d = run(compiled, lead(email="ann@eu.acme.com", country="US", region="US-CA"))
    assert (d.username, d.pool, d.reason) == (
        "rep2",
        "acme.com",
        "Named: account owner of acme.com",
    )
    d = run(compiled, lead(email="ann@other.com", country="US", region="US-CA"))
    assert d.rule_id == 2
    assert d.trace["rules"][0]["detail"].endswith("no account for 'other.com'")
    d = run(
        compiled,
        lead(email="ann@acme.com", country="US", region="US-CA"),
        loads=[load(2, away=True)],
    )
    assert d.rule_id == 2 and d.trace["rules"][0]["candidates"] == [
        {"rep": "rep2", "eligible": False, "why": "away", "code": "away"}
    ]


def test_account_owner_does_not_match_a_mere_suffix() -> None:
    compiled = config(
        reps=[rep(1)], rules=[rule(1, strategy="account_owner")], accounts={"acme.com": 1}
    )
    assert run(compiled, lead(email="x@notacme.com")).outcome == "unrouted"


def test_performance_weighted_favours_converters_but_no_one_starves() -> None:
    compiled = config(
        reps=[rep(1), rep(2), rep(3)], rules=[rule(1, strategy="performance_weighted")]
    )
    loads = [load(1, conversion_rate_90d=0.30), load(2, conversion_rate_90d=0.0), load(3)]
    counts = {"rep1": 0, "rep2": 0, "rep3": 0}
    rotations: dict[int, RotationState] = {}
    for _ in range(400):
        d = run(compiled, loads=loads, rotations=rotations)
        counts[d.username or ""] += 1
        assert d.new_rotation is not None
        rotations = {1: d.new_rotation}
    # weights 0.30, floor 0.05, median of known (0.15): 300:50:150 of 500
    assert counts == {"rep1": 240, "rep2": 40, "rep3": 120}


def test_weighted_reasons_count_the_ineligible_reps_their_trace_lists() -> None:
    reps = [rep(1, weight=2), rep(2, weight=0), rep(3), rep(4)]
    for strategy, label in (
        ("weighted_round_robin", "weighted round robin"),
        ("performance_weighted", "performance weighted"),
    ):
        compiled = config(reps=reps, rules=[rule(1, name="West", strategy=strategy)])
        d = run(compiled, loads=[load(3, away=True)])
        listed = d.trace["rules"][0]["candidates"]
        ineligible = [c["rep"] for c in listed if not c["eligible"]]
        eligible = [c["rep"] for c in listed if c["eligible"]]
        if strategy == "weighted_round_robin":
            # rep2's weight 0 counts as ineligible; rep1 (weight 2) wins the first turn
            assert (ineligible, eligible) == (["rep2", "rep3"], ["rep1", "rep4"])
            assert (
                d.reason == f"West: {label} among 2 eligible reps (skipped 2 ineligible) of US-WEST"
            )
        else:
            # conversion rates, not configured weights: only the away rep is out
            assert (ineligible, eligible) == (["rep3"], ["rep1", "rep2", "rep4"])
            assert (
                d.reason == f"West: {label} among 3 eligible reps (skipped 1 ineligible) of US-WEST"
            )
