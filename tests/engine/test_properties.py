"""Invariants under random inputs: fairness of rotations, eligibility, determinism."""

from __future__ import annotations

import datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from apps.engine import RepLoad, RotationState

from .builders import NOW, config, hours, lead, rep, rule, run

STRATEGIES = ["round_robin", "weighted_round_robin", "load_balanced", "performance_weighted"]


@settings(max_examples=60, deadline=None)
@given(
    n_reps=st.integers(1, 8),
    n_leads=st.integers(1, 60),
    ids=st.lists(st.integers(1, 500), min_size=8, max_size=8, unique=True),
)
def test_round_robin_is_exactly_cyclic(n_reps: int, n_leads: int, ids: list[int]) -> None:
    rep_ids = ids[:n_reps]
    compiled = config(reps=[rep(i) for i in rep_ids], rules=[rule(1)])
    rotations: dict[int, RotationState] = {}
    picks = []
    for _ in range(n_leads):
        d = run(compiled, rotations=rotations)
        assert d.rep_id is not None and d.new_rotation is not None
        picks.append(d.rep_id)
        rotations = {1: d.new_rotation}
    order = sorted(rep_ids)
    assert picks == [order[k % n_reps] for k in range(n_leads)]
    counts = [picks.count(i) for i in rep_ids]
    assert max(counts) - min(counts) <= 1


@settings(max_examples=60, deadline=None)
@given(
    weights=st.lists(st.integers(1, 6), min_size=1, max_size=6),
    cycles=st.integers(1, 5),
    extra=st.integers(0, 20),
)
def test_weighted_round_robin_shares_track_weights(
    weights: list[int], cycles: int, extra: int
) -> None:
    compiled = config(
        reps=[rep(i + 1, weight=w) for i, w in enumerate(weights)],
        rules=[rule(1, strategy="weighted_round_robin")],
    )
    total = sum(weights)
    rotations: dict[int, RotationState] = {}
    counts = [0] * len(weights)
    n = total * cycles + extra
    for k in range(1, n + 1):
        d = run(compiled, rotations=rotations)
        assert d.rep_id is not None and d.new_rotation is not None
        counts[d.rep_id - 1] += 1
        rotations = {1: d.new_rotation}
        for i, w in enumerate(weights):
            # smooth WRR never drifts more than one pick from the exact share
            assert abs(counts[i] - k * w / total) < 1 + 1e-9
        if k % total == 0:
            assert counts == [w * k // total for w in weights]


rep_states = st.fixed_dictionaries(
    {
        "active": st.booleans(),
        "away": st.booleans(),
        "open": st.integers(0, 6),
        "max_open": st.none() | st.integers(0, 5),
        "today": st.integers(0, 6),
        "max_daily": st.none() | st.integers(0, 5),
        "hours": st.booleans(),
        "rate": st.none() | st.floats(0, 1),
    }
)


@settings(max_examples=80, deadline=None)
@given(
    states=st.lists(rep_states, min_size=1, max_size=6),
    strategy=st.sampled_from(STRATEGIES),
    mode=st.sampled_from(["next_rule", "hold", "assign_anyway"]),
    minutes=st.integers(0, 7 * 24 * 60),
    excluded=st.sets(st.integers(1, 6), max_size=2),
)
def test_chosen_rep_is_eligible_unless_forced(
    states: list[dict[str, object]], strategy: str, mode: str, minutes: int, excluded: set[int]
) -> None:
    reps = [
        rep(
            i + 1,
            active=bool(s["active"]),
            max_open_leads=s["max_open"],
            max_daily_leads=s["max_daily"],
            working_hours=(hours(range(5), "09:00", "17:00"),) if s["hours"] else (),
        )
        for i, s in enumerate(states)
    ]
    loads = [
        RepLoad(
            rep_id=i + 1,
            away=bool(s["away"]),
            open_leads=int(s["open"]),  # type: ignore[call-overload]
            leads_today=int(s["today"]),
            conversion_rate_90d=s["rate"],
        )  # type: ignore[call-overload,arg-type]
        for i, s in enumerate(states)
    ]
    compiled = config(
        reps=reps,
        rules=[rule(1, strategy=strategy, when_no_one_eligible=mode, respect_working_hours=True)],
    )
    now = NOW + datetime.timedelta(minutes=minutes)
    d = run(compiled, loads=loads, now=now, exclude_rep_ids=frozenset(excluded))
    d2 = run(compiled, loads=loads, now=now, exclude_rep_ids=frozenset(excluded))
    assert d == d2  # deterministic
    if d.rep_id is None:
        return
    s = states[d.rep_id - 1]
    assert s["active"] and d.rep_id not in excluded
    if d.forced:
        assert mode == "assign_anyway"
        return
    assert not s["away"]
    assert s["max_open"] is None or int(s["open"]) < int(s["max_open"])  # type: ignore[call-overload]
    assert s["max_daily"] is None or int(s["today"]) < int(s["max_daily"])  # type: ignore[call-overload]
    if s["hours"]:
        assert now.weekday() < 5 and 9 <= now.hour < 17


@settings(max_examples=40, deadline=None)
@given(
    country=st.sampled_from(["US", "DE", "JP", "FR", "BR", ""]),
    size=st.integers(0, 5000),
    source=st.sampled_from(["web", "Partner", "EVENT"]),
)
def test_decide_is_deterministic_across_leads(country: str, size: int, source: str) -> None:
    compiled = config(
        reps=[rep(1), rep(2, territories=["EMEA"]), rep(3, territories=["APAC"])],
        rules=[
            rule(
                1,
                conditions=[{"field": "company_size", "op": "gte", "value": 1000}],
                target={"territory": "$lead"},
            ),
            rule(
                2,
                conditions=[{"field": "lead_source", "op": "in", "value": ["partner"]}],
                strategy="load_balanced",
                target={"territory": "WORLD"},
            ),
            rule(3, target={"territory": "$lead"}, strategy="weighted_round_robin"),
        ],
    )
    the_lead = lead(country=country, company_size=size, lead_source=source)
    assert run(compiled, the_lead) == run(compiled, the_lead)
