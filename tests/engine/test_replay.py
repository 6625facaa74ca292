"""The pure replay behind backtests: state carried between decisions, invariants. No database."""

from __future__ import annotations

import datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from apps.engine import ConfigSnapshot, LeadFacts
from apps.engine.replay import Replay, ReplayLead, RepStart, RepStatus, gini

from .builders import TREE, rep, rule

UTC = datetime.UTC
START = datetime.datetime(2026, 3, 2, tzinfo=UTC)  # a Monday


def snapshot(*reps, rules=None) -> ConfigSnapshot:  # type: ignore[no-untyped-def]
    return ConfigSnapshot(
        version=1,
        territories=TREE,
        reps=tuple(reps),
        rules=tuple(rules or [rule(1, target={"territory": "AMER"})]),
    )


def lead(
    n: int, hours: float, *, country: str = "US", actual: int | None = None, **kw
) -> ReplayLead:  # type: ignore[no-untyped-def]
    return ReplayLead(
        lead_id=n,
        created_at=START + datetime.timedelta(hours=hours),
        facts=LeadFacts(lead_id=n, fields={"country": country}),
        actual_rep_id=actual,
        **kw,
    )


def owners(replay: Replay, leads: list[ReplayLead]) -> list[int | None]:
    return [d.rep_id if d is not None else None for d in map(replay.feed, leads)]


def test_rotation_is_carried_from_lead_to_lead() -> None:
    replay = Replay(
        snapshot(rep(1, territories=["AMER"]), rep(2, territories=["AMER"])), start=START
    )
    assert owners(replay, [lead(n, n) for n in range(1, 6)]) == [1, 2, 1, 2, 1]


def test_open_leads_at_the_start_and_their_release() -> None:
    reps = [rep(1, territories=["AMER"], max_open_leads=1), rep(2, territories=["AMER"])]
    replay = Replay(
        snapshot(*reps, rules=[rule(1, target={"territory": "AMER"}, strategy="load_balanced")]),
        start=START,
        starts={1: RepStart(rep_id=1, open_leads=1)},
        releases=[(START + datetime.timedelta(hours=2), 1)],
    )
    # hour 1: rep 1 is full -> 2; hour 3: rep 1 freed (0 open) vs rep 2 (1 open) -> 1
    assert owners(replay, [lead(1, 1), lead(2, 3)]) == [2, 1]


def test_a_replayed_lead_closes_when_it_actually_closed() -> None:
    reps = [rep(1, territories=["AMER"], max_open_leads=1)]
    replay = Replay(snapshot(*reps), start=START)
    closes = START + datetime.timedelta(hours=2)
    assert owners(replay, [lead(1, 1, closed_at=closes), lead(2, 1.5), lead(3, 3)]) == [
        1,
        None,
        1,
    ]
    assert replay.result().unrouted_after == {"no_eligible_rep": 1}


def test_active_and_away_as_they_were() -> None:
    reps = [rep(1, territories=["AMER"], active=False), rep(2, territories=["AMER"])]

    def at(hours: int) -> datetime.datetime:
        return START + datetime.timedelta(hours=hours)

    replay = Replay(
        snapshot(*reps),
        start=START,
        statuses=[
            # rep 1 is inactive now (the snapshot) but was active until hour 10
            RepStatus(rep_id=1, at=START, active=True, away=False),
            RepStatus(rep_id=2, at=at(hours=2), active=None, away=True),
            RepStatus(rep_id=2, at=at(hours=4), active=None, away=False),
            RepStatus(rep_id=1, at=at(hours=10), active=False, away=False),
        ],
    )
    picks = owners(replay, [lead(n, h) for n, h in enumerate([1, 3, 5, 6, 11, 12], 1)])
    assert picks == [1, 1, 2, 1, 2, 2]
    # the snapshot, plus rep 1 active: two compilations, the first reused at hour 10
    assert replay.result().compilations == 2


def test_duplicates_follow_their_original_and_count_no_load() -> None:
    reps = [rep(1, territories=["AMER"], max_open_leads=1), rep(2, territories=["AMER"])]
    replay = Replay(snapshot(*reps), start=START)
    picks = owners(replay, [lead(1, 1, actual=2), lead(2, 2, duplicate_of=1, actual=2), lead(3, 3)])
    assert picks == [1, None, 2]  # a duplicate has no decision of its own
    result = replay.result()
    assert result.after == {1: 2, 2: 1}
    assert result.changed == 3  # lead 3 had no actual owner (unrouted before)


@settings(max_examples=40, deadline=None)
@given(
    countries=st.lists(st.sampled_from(["US", "CA", "DE", "JP"]), min_size=1, max_size=40),
    actual=st.lists(st.sampled_from([None, 1, 2, 3]), min_size=40, max_size=40),
    caps=st.lists(st.one_of(st.none(), st.integers(0, 3)), min_size=3, max_size=3),
    anyway=st.booleans(),
)
def test_every_lead_is_counted_once_and_the_replay_is_deterministic(
    countries: list[str], actual: list[int | None], caps: list[int | None], anyway: bool
) -> None:
    reps = [rep(i + 1, territories=["AMER"], max_daily_leads=cap) for i, cap in enumerate(caps)]
    rules = [
        rule(
            1,
            target={"territory": "AMER"},
            when_no_one_eligible="assign_anyway" if anyway else "next_rule",
        )
    ]
    leads = [lead(n, n * 0.5, country=c, actual=actual[n]) for n, c in enumerate(countries)]
    results = []
    for _ in range(2):
        replay = Replay(snapshot(*reps, rules=rules), start=START)
        for item in leads:
            replay.feed(item)
        results.append(replay.result())
    first, second = results
    n = len(leads)
    assert sum(first.before.values()) + sum(first.unrouted_before.values()) == n
    assert sum(first.after.values()) + sum(first.unrouted_after.values()) == n
    assert 0 <= first.changed <= n
    assert (first.before, first.after, first.changed, first.unrouted_after) == (
        second.before,
        second.after,
        second.changed,
        second.unrouted_after,
    )
    if not anyway:
        assert first.breaches == [] and first.assigned_anyway == 0
    # only assign_anyway goes past a cap, and every breach is one of its assignments
    assert sum(b.assignments for b in first.breaches) <= first.assigned_anyway


def test_gini() -> None:
    assert gini([5]) == 0
    assert gini([1, 1, 1, 1]) == 0
    assert gini([0, 0, 0, 4]) == 0.75  # |0 - 4| for 3 pairs, both ways: 24, over 2 * 4^2 * 1
    assert gini([1, 2, 3]) == round(8 / 36, 4)  # 1 + 2 + 1 both ways: 8, over 2 * 3^2 * 2
