"""How evenly leads were shared: pure arithmetic for the distribution-balance dashboard.

No Django, no database: numbers in, numbers out, so every figure can be checked by hand.

* :func:`gini`: the Gini coefficient of counts (0 = all equal, towards 1 = one takes all).
* :func:`chi_square_test`: Pearson's goodness-of-fit statistic of observed against expected
  counts, its degrees of freedom and p-value, with :func:`chi_square_sf` computed from the
  regularized upper incomplete gamma function (Numerical Recipes' series and Lentz continued
  fraction), so no SciPy is needed.
* :func:`allocate`: share a total in proportion to weights without exceeding each one's cap
  (water filling), the expected counts when reps have a daily cap.
* :func:`rep_availability`: how much of a window a rep was available (active, not away, not on
  time off) from the states they were in and their time off, and their weight over that time.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise

__all__ = [
    "Availability",
    "ChiSquare",
    "RepState",
    "allocate",
    "chi_square_sf",
    "chi_square_test",
    "gini",
    "pearson_residual",
    "regularized_gamma_q",
    "rep_availability",
]

_EPS = 1e-15
_TINY = 1e-300
_MAX_ITERATIONS = 10_000


def gini(counts: Sequence[float]) -> float | None:
    """The Gini coefficient, ``sum_i sum_j |x_i - x_j| / (2 n^2 mean)``; None when there is
    nothing to share (no counts, or all zero)."""
    n = len(counts)
    total = sum(counts)
    if n == 0 or total <= 0:
        return None
    ordered = sorted(counts)
    ranked = sum((i + 1) * x for i, x in enumerate(ordered))
    return max(0.0, 2.0 * ranked / (n * total) - (n + 1) / n)


def regularized_gamma_q(a: float, x: float) -> float:
    """Q(a, x) = Γ(a, x) / Γ(a), the regularized upper incomplete gamma function (a > 0, x >= 0)."""
    if a <= 0 or x < 0 or math.isnan(x):
        raise ValueError("regularized_gamma_q needs a > 0 and x >= 0")
    if x == 0:
        return 1.0
    if math.isinf(x):
        return 0.0
    if x < a + 1:
        return max(0.0, 1.0 - _gamma_p_series(a, x))
    return min(1.0, _gamma_q_continued_fraction(a, x))


def _gamma_p_series(a: float, x: float) -> float:
    """P(a, x) by its series, converging quickly for x < a + 1."""
    term = total = 1.0 / a
    ap = a
    for _ in range(_MAX_ITERATIONS):
        ap += 1
        term *= x / ap
        total += term
        if abs(term) < abs(total) * _EPS:
            break
    return total * math.exp(-x + a * math.log(x) - math.lgamma(a))


def _gamma_q_continued_fraction(a: float, x: float) -> float:
    """Q(a, x) by its continued fraction (modified Lentz), converging quickly for x >= a + 1."""
    b = x + 1 - a
    c = 1.0 / _TINY
    d = 1.0 / b
    h = d
    for i in range(1, _MAX_ITERATIONS):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = _TINY if abs(d) < _TINY else d
        c = b + an / c
        c = _TINY if abs(c) < _TINY else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < _EPS:
            break
    return math.exp(-x + a * math.log(x) - math.lgamma(a)) * h


def chi_square_sf(statistic: float, df: int) -> float:
    """P(X >= statistic) for X chi-square distributed with ``df`` degrees of freedom."""
    if df < 1:
        raise ValueError("a chi-square distribution needs at least one degree of freedom")
    if statistic <= 0:
        return 1.0
    return regularized_gamma_q(df / 2.0, statistic / 2.0)


@dataclass(frozen=True, slots=True)
class ChiSquare:
    statistic: float
    df: int
    p_value: float


def chi_square_test(observed: Sequence[float], expected: Sequence[float]) -> ChiSquare | None:
    """Pearson's goodness of fit over the categories with a positive expectation; None when
    fewer than two such categories remain (nothing to compare)."""
    if len(observed) != len(expected):
        raise ValueError("observed and expected differ in length")
    pairs = [(o, e) for o, e in zip(observed, expected, strict=True) if e > 0]
    if len(pairs) < 2:
        return None
    statistic = sum((o - e) ** 2 / e for o, e in pairs)
    df = len(pairs) - 1
    return ChiSquare(statistic=statistic, df=df, p_value=chi_square_sf(statistic, df))


def pearson_residual(observed: float, expected: float) -> float | None:
    """(O - E) / sqrt(E): how many standard deviations a count lies from its expectation."""
    return None if expected <= 0 else (observed - expected) / math.sqrt(expected)


def allocate(total: float, weights: Sequence[float], caps: Sequence[float | None]) -> list[float]:
    """``total`` shared in proportion to ``weights``, nobody above their cap (None: no cap):
    whatever a capped share cannot take goes to the others, again by weight. When every
    uncapped weight is spent and some remains, the remainder is shared by weight over everyone
    (the caps could not hold it)."""
    n = len(weights)
    if len(caps) != n:
        raise ValueError("weights and caps differ in length")
    shares = [0.0] * n
    free = {i for i in range(n) if weights[i] > 0}
    left = float(total)
    while free and left > 1e-12:
        mass = sum(weights[i] for i in free)
        over = [
            i
            for i in free
            if caps[i] is not None and left * weights[i] / mass > (caps[i] or 0.0) - shares[i]
        ]
        if not over:
            for i in free:
                shares[i] += left * weights[i] / mass
            return shares
        for i in over:
            room = max(0.0, (caps[i] or 0.0) - shares[i])
            shares[i] += room
            left -= room
            free.discard(i)
    mass = sum(w for w in weights if w > 0)
    if left > 1e-12 and mass > 0:
        shares = [s + left * max(0.0, w) / mass for s, w in zip(shares, weights, strict=True)]
    return shares


@dataclass(frozen=True, slots=True)
class RepState:
    """A rep's recorded state from ``at`` on (until the next one)."""

    at: datetime
    active: bool
    away: bool
    weight: int
    max_daily_leads: int | None = None


@dataclass(frozen=True, slots=True)
class Availability:
    """A rep's time in a window, in seconds; each unavailable second is counted once, under
    the first that applies of inactive, on time off, away."""

    window: float
    available: float
    inactive: float
    time_off: float
    away: float
    #: the integral of the rep's weight over their available time (weight x seconds)
    weighted: float
    #: the most leads their daily cap allowed over their available time (None: no cap)
    cap_leads: float | None


def rep_availability(
    *,
    start: datetime,
    end: datetime,
    states: Sequence[RepState],
    time_off: Sequence[tuple[datetime, datetime]],
) -> Availability:
    """The rep's availability over ``[start, end)``. ``states`` (sorted by ``at``, at least one)
    are the recorded states; before the first one the rep is taken to have been as first
    recorded. ``time_off`` holds ``[starts_at, ends_at)`` periods (they may overlap)."""
    if not states:
        raise ValueError("a rep needs at least one recorded state")
    if end <= start:
        raise ValueError("the window must end after it starts")
    cuts = {start, end}
    cuts.update(s.at for s in states if start < s.at < end)
    for off_start, off_end in time_off:
        cuts.update(t for t in (off_start, off_end) if start < t < end)
    ordered = sorted(cuts)
    moments = [s.at for s in states]
    seconds = {"available": 0.0, "inactive": 0.0, "time_off": 0.0, "away": 0.0}
    weighted = 0.0
    cap: float | None = 0.0
    for low, high in pairwise(ordered):
        length = (high - low).total_seconds()
        state = states[max(0, bisect_right(moments, low) - 1)]
        if not state.active:
            seconds["inactive"] += length
        elif any(a <= low < b for a, b in time_off):
            seconds["time_off"] += length
        elif state.away:
            seconds["away"] += length
        else:
            seconds["available"] += length
            weighted += state.weight * length
            if state.max_daily_leads is None:
                cap = None
            elif cap is not None:
                cap += state.max_daily_leads * length / 86_400
    return Availability(
        window=(end - start).total_seconds(),
        weighted=weighted,
        cap_leads=cap,
        **seconds,
    )
