"""Territory matching (postal prefix beats region beats country; deeper wins ties) and targets."""

from __future__ import annotations

import pytest

from apps.engine import TerritoryDef, lead_territory

from .builders import TREE, config, lead, load, rep, rule, run


@pytest.mark.parametrize(
    ("country", "region", "postal", "expected"),
    [
        ("US", "US-CA", "94105", "SF"),  # postal prefix beats region
        ("US", "US-CA", "90012", "US-WEST"),  # no prefix match: region
        ("US", "US-CA", None, "US-WEST"),
        ("US", "US-NY", "94105", "SF"),  # SF inherits the US constraint from AMER: still US
        ("US", None, None, "AMER"),  # country only
        ("CA", None, None, "AMER"),
        ("DE", None, "80331", "MUNICH"),
        ("DE", None, "10115", "DACH"),  # deeper of EMEA/DACH for DE
        ("FR", None, "80331", "EMEA"),  # MUNICH's prefix needs a German lead
        ("GB", None, "94105", "EMEA"),  # SF's prefix needs a US lead
        ("BR", None, None, None),
        (None, None, None, None),
        ("us", "us-ca", " 941 05", "SF"),  # case and spacing normalised
    ],
)
def test_lead_territory(
    country: str | None, region: str | None, postal: str | None, expected: str | None
) -> None:
    compiled = config()
    assert lead_territory(compiled, country=country, region=region, postal_code=postal) == expected


def test_ties_go_to_the_deeper_territory_and_longest_prefix() -> None:
    tree = (
        TerritoryDef(code="ROOT", countries=frozenset({"US"})),
        TerritoryDef(code="A", parent="ROOT", countries=frozenset({"US"}), postal_prefixes=("9",)),
        TerritoryDef(code="B", parent="A", postal_prefixes=("9",)),
        TerritoryDef(code="C", parent="ROOT", postal_prefixes=("94",)),
    )
    compiled = config(territories=tree)
    assert lead_territory(compiled, country="US", region=None, postal_code="91000") == "B"
    assert lead_territory(compiled, country="US", region=None, postal_code="94000") == "C"
    assert lead_territory(compiled, country="US", region=None, postal_code=None) == "A"


def test_caller_supplied_territory_wins() -> None:
    compiled = config(
        reps=[rep(1, territories=["US-EAST"])], rules=[rule(1, target={"territory": "$lead"})]
    )
    d = run(compiled, lead(country="US", region="US-CA", territory="US-EAST"))
    assert d.territory == "US-EAST" and d.username == "rep1"


def test_fixed_territory_target_includes_descendants() -> None:
    compiled = config(
        reps=[rep(1, territories=["SF"]), rep(2, territories=["US-EAST"])],
        rules=[rule(1, target={"territory": "US-WEST"})],
    )
    d = run(compiled, lead(country="US", region="US-NY"))
    assert (d.username, d.pool) == ("rep1", "US-WEST")


def test_lead_target_walks_up_until_someone_is_eligible() -> None:
    compiled = config(
        reps=[
            rep(1, territories=["SF"]),
            rep(2, territories=["US-WEST"]),
            rep(3, territories=["AMER"]),
        ],
        rules=[rule(1, target={"territory": "$lead"}, strategy="load_balanced")],
    )
    the_lead = lead(country="US", region="US-CA", postal_code="94105")
    d = run(compiled, the_lead)
    assert (d.username, d.pool, d.territory) == ("rep1", "SF", "SF")
    d = run(compiled, the_lead, loads=[load(1, away=True)])
    assert (d.username, d.pool) == ("rep2", "US-WEST")
    assert "no one eligible in SF" in d.reason
    d = run(compiled, the_lead, loads=[load(1, away=True), load(2, away=True)])
    assert (d.username, d.pool) == ("rep3", "AMER")
    names = {c["rep"]: c["why"] for c in d.trace["rules"][0]["candidates"]}
    assert names == {"rep1": "away", "rep2": "away", "rep3": names["rep3"]}  # each listed once


def test_lead_target_without_territory_finds_no_one() -> None:
    compiled = config(reps=[rep(1)], rules=[rule(1, target={"territory": "$lead"})])
    d = run(compiled, lead(country="BR"))
    assert d.outcome == "unrouted" and d.territory is None
    assert "the lead has no territory" in d.trace["rules"][0]["detail"]


def test_reps_target_with_weights() -> None:
    compiled = config(
        reps=[rep(1), rep(2), rep(3, territories=["EMEA"])],
        rules=[
            rule(
                1,
                target={"reps": [{"username": "rep3", "weight": 3}, {"username": "rep1"}]},
                strategy="weighted_round_robin",
            )
        ],
    )
    counts = {"rep1": 0, "rep3": 0}
    rotations = {}
    for _ in range(8):
        d = run(compiled, rotations=rotations)
        assert d.pool == "reps"
        counts[d.username or ""] += 1
        assert d.new_rotation is not None
        rotations = {1: d.new_rotation}
    assert counts == {"rep1": 2, "rep3": 6}


def test_tree_has_expected_shape() -> None:
    assert {t.code for t in TREE} >= {"WORLD", "SF", "MUNICH"}
