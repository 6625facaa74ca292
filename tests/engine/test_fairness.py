"""The balance arithmetic (apps.engine.fairness): no database, figures worked out by hand."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.engine.fairness import (
    RepState,
    allocate,
    chi_square_sf,
    chi_square_test,
    gini,
    pearson_residual,
    regularized_gamma_q,
    rep_availability,
)

DAY = 86_400.0


def at(day: int, hour: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=UTC)


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ([5, 5, 5], 0.0),
        ([0, 0, 3], 2 / 3),  # one of three takes all: (n - 1) / n
        ([2, 4, 6, 8], 0.25),  # pairwise |diffs| 40 x 2 / (2 x 16 x 5)
        ([0, 5, 11, 14], 0.4),
        ([7], 0.0),
    ],
)
def test_gini(counts: list[int], expected: float) -> None:
    assert gini(counts) == pytest.approx(expected)


def test_gini_of_nothing_is_none() -> None:
    assert gini([]) is None
    assert gini([0, 0]) is None


def test_chi_square_known_values() -> None:
    assert chi_square_sf(3.84, 1) == pytest.approx(0.0500, abs=5e-5)
    assert chi_square_sf(10, 5) == pytest.approx(0.07524, abs=5e-6)
    assert chi_square_sf(0, 4) == 1.0
    assert chi_square_sf(2, 2) == pytest.approx(math.exp(-1), rel=1e-12)
    # both branches of Q(a, x): the series (x < a + 1) and the continued fraction
    assert regularized_gamma_q(5, 2) == pytest.approx(
        math.exp(-2) * sum(2**k / math.factorial(k) for k in range(5)), rel=1e-12
    )
    assert regularized_gamma_q(2, 9) == pytest.approx(math.exp(-9) * 10, rel=1e-12)
    assert regularized_gamma_q(3, math.inf) == 0.0


def test_chi_square_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        chi_square_sf(1.0, 0)
    with pytest.raises(ValueError):
        regularized_gamma_q(0, 1)


def test_chi_square_test_skips_categories_expected_empty() -> None:
    test = chi_square_test([14, 11, 0, 5, 2], [10, 10, 5, 5, 0])
    assert test is not None
    assert (test.statistic, test.df) == (pytest.approx(6.7), 3)
    assert test.p_value == pytest.approx(0.0821000596, rel=1e-8)
    assert chi_square_test([3], [3]) is None
    assert chi_square_test([3, 0], [3, 0]) is None


def test_pearson_residual() -> None:
    assert pearson_residual(0, 5) == pytest.approx(-math.sqrt(5))
    assert pearson_residual(3, 0) is None


def test_allocate_by_weight() -> None:
    assert allocate(30, [10, 10, 5, 5], [None] * 4) == [10, 10, 5, 5]
    assert allocate(30, [1, 0], [None, None]) == [30, 0]


def test_allocate_hands_what_a_cap_cannot_take_to_the_others() -> None:
    # ann's weight would give her 15; her cap holds her to 10, the 20 left go 2:1:1
    assert allocate(30, [20, 10, 5, 5], [10, None, None, None]) == pytest.approx([10, 10, 5, 5])
    # a second round: bob's 10 of the rest would exceed his cap of 8
    assert allocate(30, [20, 10, 5, 5], [10, 8, None, None]) == pytest.approx([10, 8, 6, 6])


def test_allocate_when_the_caps_cannot_hold_everything() -> None:
    assert allocate(30, [1, 1], [5, 5]) == pytest.approx([15, 15])


def test_availability_of_a_rep_away_half_the_window() -> None:
    states = [
        RepState(at=at(1).replace(month=1), active=True, away=True, weight=1),
        RepState(at=at(6), active=True, away=False, weight=1),
    ]
    av = rep_availability(start=at(1), end=at(11), states=states, time_off=[])
    assert (av.window, av.available, av.away, av.time_off, av.inactive) == (
        10 * DAY,
        5 * DAY,
        5 * DAY,
        0,
        0,
    )
    assert av.weighted == 5 * DAY and av.cap_leads is None


def test_each_lost_second_counts_once_inactive_first_then_time_off_then_away() -> None:
    states = [
        RepState(at=at(1), active=True, away=True, weight=2, max_daily_leads=4),
        RepState(at=at(3), active=False, away=True, weight=2, max_daily_leads=4),
        RepState(at=at(4), active=True, away=False, weight=3, max_daily_leads=4),
    ]
    # away days 1-2 (day 2 also on time off), inactive day 3 (also off), off day 4 half,
    # then available from day 4 noon to day 11 with weight 3
    off = [(at(2), at(4, 12)), (at(2, 6), at(3, 6))]
    av = rep_availability(start=at(1), end=at(11), states=states, time_off=off)
    assert av.away == 1 * DAY
    assert av.inactive == 1 * DAY
    assert av.time_off == 1.5 * DAY
    assert av.available == 6.5 * DAY
    assert av.weighted == 3 * 6.5 * DAY
    assert av.cap_leads == pytest.approx(4 * 6.5)


def test_before_the_first_record_a_rep_is_as_first_recorded() -> None:
    states = [RepState(at=at(5), active=True, away=True, weight=1)]
    av = rep_availability(start=at(1), end=at(11), states=states, time_off=[])
    assert av.away == 10 * DAY


def test_availability_refuses_an_empty_history_or_window() -> None:
    with pytest.raises(ValueError):
        rep_availability(start=at(1), end=at(2), states=[], time_off=[])
    state = RepState(at=at(1), active=True, away=False, weight=1)
    with pytest.raises(ValueError):
        rep_availability(start=at(2), end=at(2), states=[state], time_off=[])


@given(
    total=st.integers(min_value=0, max_value=10_000),
    reps=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=50),
            st.one_of(st.none(), st.integers(min_value=0, max_value=3_000)),
        ),
        min_size=1,
        max_size=12,
    ),
)
@settings(max_examples=300, deadline=None)
def test_allocate_shares_everything_and_respects_the_caps_it_can(
    total: int, reps: list[tuple[int, int | None]]
) -> None:
    weights = [w for w, _ in reps]
    caps = [c for _, c in reps]
    shares = allocate(total, weights, caps)
    if sum(weights) == 0:
        assert shares == [0.0] * len(reps)
        return
    assert sum(shares) == pytest.approx(total, abs=1e-6)
    assert all(s >= 0 for s in shares)
    assert all(s == 0 for s, w in zip(shares, weights, strict=True) if w == 0)
    room = sum(c if c is not None else math.inf for w, c in reps if w > 0)
    if total <= room:
        assert all(s <= c + 1e-6 for s, c in zip(shares, caps, strict=True) if c is not None)
    # below their caps, shares keep to the weights
    free = [(s, w) for s, w, c in zip(shares, weights, caps, strict=True) if w and c is None]
    for (s1, w1), (s2, w2) in pairwise(free):
        assert s1 * w2 == pytest.approx(s2 * w1, rel=1e-9, abs=1e-6)


@given(st.lists(st.integers(min_value=0, max_value=1_000), min_size=1, max_size=40))
def test_gini_lies_between_zero_and_one(counts: list[int]) -> None:
    g = gini(counts)
    if sum(counts) == 0:
        assert g is None
    else:
        assert g is not None and 0 <= g <= 1 - 1 / len(counts) + 1e-12


@given(
    x=st.floats(min_value=0, max_value=500, allow_nan=False),
    dx=st.floats(min_value=0.01, max_value=50),
    df=st.integers(min_value=1, max_value=200),
)
def test_the_survival_function_falls_from_one_to_zero(x: float, dx: float, df: int) -> None:
    p, q = chi_square_sf(x, df), chi_square_sf(x + dx, df)
    assert 0 <= q <= p <= 1
