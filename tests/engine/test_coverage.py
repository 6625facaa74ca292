"""Rule analysis: condition implication (sound, by table and by hypothesis) and shadowed rules."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.engine import ConfigSnapshot, compile_config
from apps.engine.compiler import CompiledConfig
from apps.engine.conditions import compile_conditions
from apps.engine.coverage import rule_always_decides, rule_shadows
from apps.engine.implication import condition_implies, conditions_imply
from apps.engine.values import normalise_lead

from .builders import TREE, rep, rule

INDEX = compile_config(ConfigSnapshot(version=1, territories=TREE)).territories


def c(field: str, op: str, value: Any = True) -> dict[str, Any]:
    return {"field": field, "op": op, "value": value}


# --- implication, by table ---------------------------------------------------------------------

IMPLIED = [
    # (b, a): every lead matching b matches a
    (c("industry", "eq", "Healthcare"), c("industry", "eq", "healthcare ")),
    (c("industry", "eq", "healthcare"), c("industry", "in", ["healthcare", "pharma"])),
    (c("industry", "in", ["pharma"]), c("industry", "in", ["healthcare", "pharma"])),
    (c("industry", "eq", "healthcare"), c("industry", "ne", "retail")),
    (c("industry", "in", ["healthcare", "pharma"]), c("industry", "not_in", ["retail", "gov"])),
    (c("industry", "not_in", ["retail", "gov"]), c("industry", "ne", "retail")),
    (c("industry", "exists", False), c("industry", "ne", "retail")),
    (c("company_size", "gte", 5000), c("company_size", "gte", 1000)),
    (c("company_size", "gte", 1000), c("company_size", "gte", 1000)),
    (c("company_size", "gt", 1000), c("company_size", "gte", 1000)),
    (c("company_size", "gt", 1000), c("company_size", "gt", 1000)),
    (c("company_size", "gte", 1001), c("company_size", "gt", 1000)),
    (c("company_size", "lt", 50), c("company_size", "lte", 50)),
    (c("company_size", "lte", 10), c("company_size", "lt", 50)),
    (c("company_size", "eq", 5000), c("company_size", "gt", 1000)),
    (c("company_size", "in", [2000, 3000]), c("company_size", "gte", 2000)),
    (c("company_size", "gte", 5), c("company_size", "exists", True)),
    (
        c("created_at", "gte", "2026-02-01T00:00:00Z"),
        c("created_at", "gt", "2026-01-01T00:00:00+00:00"),
    ),
    (c("email_domain", "ends_with", "mail.acme.com"), c("email_domain", "ends_with", "acme.com")),
    (c("company", "starts_with", "Acme Corp"), c("company", "starts_with", "acme")),
    (c("company", "eq", "Acme Corp"), c("company", "contains", "corp")),
    (c("company", "contains", "acme corp"), c("company", "contains", "corp")),
    (c("territory", "within", "US-WEST"), c("territory", "within", "AMER")),
    (c("territory", "within", "SF"), c("territory", "within", "SF")),
    (c("territory", "eq", "sf"), c("territory", "within", "US-WEST")),
    (c("territory", "in", ["US-WEST", "US-EAST"]), c("territory", "within", "AMER")),
    (c("territory", "within", "DACH"), c("territory", "in", ["DACH", "MUNICH"])),
    (c("territory", "within", "DACH"), c("territory", "ne", "US-WEST")),
    (c("extra.tier", "eq", "gold"), c("extra.tier", "in", ["gold", "silver"])),
    (c("extra.seats", "gte", 10), c("extra.seats", "gt", 5)),
    # groups
    (
        c("industry", "eq", "pharma"),
        {"any": [c("industry", "eq", "pharma"), c("lead_score", "gte", 80)]},
    ),
    (
        {"any": [c("company_size", "gte", 5000), c("company_size", "eq", 2000)]},
        c("company_size", "gte", 1000),
    ),
    (
        {"all": [c("company_size", "gte", 5000), c("industry", "eq", "x")]},
        c("company_size", "gte", 1000),
    ),
    (
        c("company_size", "gte", 5000),
        {"all": [c("company_size", "gte", 1000), c("company_size", "exists", True)]},
    ),
]

NOT_IMPLIED = [
    (c("industry", "eq", "healthcare"), c("industry", "eq", "pharma")),
    (c("industry", "in", ["healthcare", "retail"]), c("industry", "in", ["healthcare"])),
    (c("industry", "ne", "retail"), c("industry", "eq", "healthcare")),
    (c("industry", "eq", "healthcare"), c("industry", "ne", "healthcare")),
    (c("company_size", "gte", 1000), c("company_size", "gte", 5000)),
    (c("company_size", "gte", 1000), c("company_size", "gt", 1000)),
    (c("company_size", "lt", 50), c("company_size", "gt", 10)),
    (c("company_size", "eq", 5000), c("company_size", "lt", 1000)),
    (c("company_size", "eq", "5000"), c("company_size", "eq", 5000)),  # kinds differ: unproven
    (c("lead_score", "gte", 80), c("company_size", "gte", 80)),  # another field
    (c("company", "starts_with", "ac"), c("company", "starts_with", "acme")),
    (c("company", "contains", "corp"), c("company", "starts_with", "corp")),
    (c("territory", "within", "AMER"), c("territory", "within", "US-WEST")),
    (c("territory", "within", "AMER"), c("territory", "in", ["AMER"])),
    (c("country", "eq", "US"), c("territory", "within", "AMER")),  # across fields: not reasoned
    # extra.<key> may hold a list: ["gold", "silver"] is eq "gold" and not ne "silver"
    (c("extra.tier", "eq", "gold"), c("extra.tier", "ne", "silver")),
    (c("extra.tags", "contains", "vip-gold"), c("extra.tags", "contains", "gold")),
    (c("industry", "exists", True), c("industry", "eq", "x")),
    (
        {"any": [c("company_size", "gte", 5000), c("lead_score", "gte", 90)]},
        c("company_size", "gte", 1),
    ),
    (
        c("company_size", "gte", 5000),
        {"any": [c("lead_score", "gte", 80), c("industry", "eq", "x")]},
    ),
]


@pytest.mark.parametrize(("b", "a"), IMPLIED)
def test_implied(b, a):
    assert condition_implies(b, a, INDEX)


@pytest.mark.parametrize(("b", "a"), NOT_IMPLIED)
def test_not_implied(b, a):
    assert not condition_implies(b, a, INDEX)


def test_lists_of_conditions():
    enterprise_west = [c("company_size", "gte", 5000), c("territory", "within", "US-WEST")]
    enterprise_amer = [c("territory", "within", "AMER"), c("company_size", "gte", 1000)]
    assert conditions_imply(enterprise_west, enterprise_amer, INDEX)
    assert not conditions_imply(enterprise_amer, enterprise_west, INDEX)
    # a catch-all is implied by anything, even by another catch-all; it implies only a catch-all
    assert conditions_imply(enterprise_west, [], INDEX)
    assert conditions_imply([], [], INDEX)
    assert not conditions_imply([], enterprise_west, INDEX)
    # each of a's conditions must be covered, not just one
    assert not conditions_imply([c("company_size", "gte", 5000)], enterprise_amer, INDEX)


# --- implication is sound: hypothesis against the real predicates -------------------------------

_CODES = ["WORLD", "AMER", "US-WEST", "US-EAST", "SF", "EMEA", "DACH", "MUNICH", "APAC"]
_WORDS = ["acme", "acme corp", "corp", "gold", "silver", "pharma", "retail", "5", "10"]


_NUMBER = st.sampled_from([0, 5, 10, 999, 1000, 1001, 5000])
_NUMERIC, _TEXT = ("company_size", "extra.seats"), ("company", "extra.tags")


def _leaf_on(field: str) -> st.SearchStrategy[dict[str, Any]]:
    """Leaf conditions on one field, every op that field takes."""
    if field in _NUMERIC:
        value, ops = _NUMBER, ["eq", "ne", "gt", "gte", "lt", "lte"]
    elif field in _TEXT:
        value, ops = st.sampled_from(_WORDS), ["eq", "ne", "contains", "starts_with", "ends_with"]
    else:
        value, ops = st.sampled_from(_CODES), ["within", "eq", "ne"]
    return (
        st.builds(c, st.just(field), st.sampled_from(ops), value)
        | st.builds(
            c,
            st.just(field),
            st.sampled_from(["in", "not_in"]),
            st.lists(value, min_size=1, max_size=3),
        )
        | st.builds(c, st.just(field), st.just("exists"), st.booleans())
    )


_FIELDS = [*_NUMERIC, *_TEXT, "territory"]


def _leaf() -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(*(_leaf_on(f) for f in _FIELDS))


def _condition() -> st.SearchStrategy[dict[str, Any]]:
    return st.recursive(
        _leaf(),
        lambda inner: st.builds(
            lambda kind, members: {kind: members},
            st.sampled_from(["any", "all"]),
            st.lists(inner, min_size=1, max_size=3),
        ),
        max_leaves=4,
    )


_lead_fields = st.fixed_dictionaries(
    {},
    optional={
        "company": st.sampled_from([*_WORDS, "acme corp ltd", "Gold Corp"]),
        "company_size": st.sampled_from([0, 5, 10, 999, 1000, 1001, 4999, 5000, 7000]),
        "territory": st.sampled_from(_CODES),
        "extra": st.fixed_dictionaries(
            {},
            optional={
                "tags": st.sampled_from(_WORDS)
                | st.lists(st.sampled_from(_WORDS), min_size=1, max_size=3),
                "seats": st.sampled_from([0, 5, 10, "10", 1000]),
            },
        ),
    },
)


def _holds(conditions: list[dict[str, Any]], fields: dict[str, Any]) -> bool:
    errors: dict[str, list[str]] = {}
    compiled = compile_conditions(
        conditions, "c", territory_codes=frozenset(INDEX.defs), errors=errors
    )
    assert not errors, errors
    territory = fields.get("territory")
    vals = normalise_lead(
        fields, territory, INDEX.ancestors[territory] if territory else frozenset()
    )
    return all(cond.check(vals) for cond in compiled)


@settings(max_examples=400, deadline=None)
@given(
    b=st.lists(_condition(), min_size=0, max_size=2),
    a=st.lists(_condition(), min_size=0, max_size=2),
    leads=st.lists(_lead_fields, min_size=1, max_size=25),
)
def test_an_implication_is_never_wrong(b, a, leads):
    if conditions_imply(b, a, INDEX):
        for fields in leads:
            if _holds(b, fields):
                assert _holds(a, fields), (b, a, fields)


@settings(max_examples=600, deadline=None)
@given(data=st.data(), leads=st.lists(_lead_fields, min_size=5, max_size=40))
def test_same_field_implications_are_never_wrong(data, leads):
    # one field for both sides, so many pairs are implications (the test above draws few)
    leaf = _leaf_on(data.draw(st.sampled_from(_FIELDS)))
    b, a = data.draw(leaf), data.draw(leaf)
    if condition_implies(b, a, INDEX):
        for fields in leads:
            if _holds([b], fields):
                assert _holds([a], fields), (b, a, fields)


@settings(max_examples=200, deadline=None)
@given(cond=_condition())
def test_every_condition_implies_itself_or_is_left_unproven_soundly(cond):
    # reflexivity holds for every leaf kind the grammar proves; groups may stay unproven
    if "field" in cond:
        assert condition_implies(cond, cond, INDEX)


# --- shadowed rules -----------------------------------------------------------------------------

REPS = [rep(1, territories=["US-WEST"]), rep(2, territories=["DACH"])]


def _compiled(*rules: Any, reps: Any = REPS) -> tuple[ConfigSnapshot, CompiledConfig]:
    snapshot = ConfigSnapshot(version=1, territories=TREE, reps=tuple(reps), rules=tuple(rules))
    return snapshot, compile_config(snapshot)


def test_a_rule_behind_a_holding_catch_all_never_fires():
    snapshot, compiled = _compiled(
        rule(1, when_no_one_eligible="hold"),
        rule(2, conditions=[c("company_size", "gte", 1000)]),
    )
    shadows = rule_shadows(snapshot, compiled)
    assert list(shadows) == [2]
    shadow = shadows[2]
    assert (shadow.by_rule_id, shadow.by_hold, shadow.reassignments_only) == (1, True, False)
    assert shadow.text.startswith("Never fires: every lead it matches is taken first by the ")
    assert "'Rule 1'" in shadow.text and "holds every lead" in shadow.text


def test_next_rule_never_shadows():
    snapshot, compiled = _compiled(rule(1), rule(2, conditions=[c("industry", "eq", "x")]))
    assert rule_shadows(snapshot, compiled) == {}


def test_conditions_must_be_covered():
    snapshot, compiled = _compiled(
        rule(1, conditions=[c("company_size", "gte", 5000)], when_no_one_eligible="hold"),
        rule(2, conditions=[c("company_size", "gte", 1000)]),
        rule(3, conditions=[c("company_size", "gte", 9000), c("industry", "eq", "x")]),
    )
    assert set(rule_shadows(snapshot, compiled)) == {3}


def test_inactive_rules_neither_shadow_nor_are_reported():
    snapshot, compiled = _compiled(
        rule(1, when_no_one_eligible="hold", active=False),
        rule(2, conditions=[c("industry", "eq", "x")]),
        rule(3, when_no_one_eligible="hold"),
        rule(4, active=False),
    )
    assert set(rule_shadows(snapshot, compiled)) == set()


def test_account_owner_rules_pass_leads_without_an_account_on():
    snapshot, compiled = _compiled(
        rule(1, strategy="account_owner", when_no_one_eligible="hold"),
        rule(2, conditions=[c("industry", "eq", "x")]),
    )
    assert rule_shadows(snapshot, compiled) == {}


def test_assign_anyway_to_a_fixed_pool_shadows_except_for_reassignments():
    snapshot, compiled = _compiled(
        rule(1, target={"territory": "US-WEST"}, when_no_one_eligible="assign_anyway"),
        rule(2, conditions=[c("industry", "eq", "x")]),
    )
    shadow = rule_shadows(snapshot, compiled)[2]
    assert (shadow.by_hold, shadow.reassignments_only) == (False, True)
    assert "assigns every lead it matches, anyway" in shadow.text
    assert "being reassigned after every rep of 'Rule 1' has held it" in shadow.text


@pytest.mark.parametrize(
    "changes",
    [
        {"require_language": True},
        {"require_skill_from": "industry"},
        {"target": {"territory": "EMEA"}},  # DACH's rep is in EMEA's pool... see below
    ],
)
def test_assign_anyway_is_not_certain_with_requirements(changes):
    snapshot, compiled = _compiled(
        rule(1, when_no_one_eligible="assign_anyway", **changes),
        rule(2, conditions=[c("industry", "eq", "x")]),
    )
    expected = {2} if changes.get("target") else set()  # EMEA's pool holds rep 2 (DACH)
    assert set(rule_shadows(snapshot, compiled)) == expected


def test_assign_anyway_needs_an_active_rep_with_weight():
    inactive = [rep(1, territories=["US-WEST"], active=False)]
    snapshot, compiled = _compiled(
        rule(1, when_no_one_eligible="assign_anyway"), rule(2), reps=inactive
    )
    assert rule_shadows(snapshot, compiled) == {}
    zero = [rep(1, territories=["US-WEST"], weight=0)]
    weighted = rule(1, when_no_one_eligible="assign_anyway", strategy="weighted_round_robin")
    snapshot, compiled = _compiled(weighted, rule(2), reps=zero)
    assert rule_shadows(snapshot, compiled) == {}
    snapshot, compiled = _compiled(
        rule(1, when_no_one_eligible="assign_anyway"), rule(2), reps=zero
    )
    assert set(rule_shadows(snapshot, compiled)) == {2}  # round robin ignores weights


def test_lead_target_assign_anyway_depends_on_the_territories_the_later_rule_allows():
    catch_all = rule(1, target={"territory": "$lead"}, when_no_one_eligible="assign_anyway")
    snapshot, compiled = _compiled(
        catch_all,
        rule(2, conditions=[c("industry", "eq", "x")]),  # a lead with no territory passes on
        rule(3, conditions=[c("territory", "within", "US-WEST")]),  # rep 1 is there
        rule(4, conditions=[c("territory", "within", "EMEA")]),  # the walk up reaches EMEA: rep 2
        rule(5, conditions=[c("territory", "within", "APAC")]),  # APAC -> WORLD: reps 1 and 2
    )
    shadows = rule_shadows(snapshot, compiled)
    assert set(shadows) == {3, 4, 5}
    assert all(s.reassignments_only for s in shadows.values())

    only_west = [rep(1, territories=["US-WEST"])]
    snapshot, compiled = _compiled(
        rule(1, target={"territory": "$lead"}, when_no_one_eligible="assign_anyway"),
        rule(2, conditions=[c("territory", "within", "AMER")], target={"territory": "AMER"}),
        reps=only_west,
    )
    # AMER's chain: AMER (holds US-WEST's rep 1 as a descendant) -> found; US-EAST -> AMER found
    assert set(rule_shadows(snapshot, compiled)) == {2}
    no_rep = [rep(1, territories=["DACH"], active=False)]
    snapshot, compiled = _compiled(
        rule(1, target={"territory": "$lead"}, when_no_one_eligible="assign_anyway"),
        rule(2, conditions=[c("territory", "within", "AMER")], target={"territory": "AMER"}),
        reps=[*no_rep, rep(2, territories=["US-WEST"], active=False)],
    )
    assert rule_shadows(snapshot, compiled) == {}


def test_the_first_covering_rule_is_named():
    snapshot, compiled = _compiled(
        rule(1, conditions=[c("company_size", "gte", 100)], when_no_one_eligible="hold"),
        rule(2, when_no_one_eligible="hold"),
        rule(3, conditions=[c("company_size", "gte", 1000)]),
        rule(4, conditions=[c("industry", "eq", "x")]),
    )
    shadows = rule_shadows(snapshot, compiled)
    assert {k: s.by_rule_id for k, s in shadows.items()} == {3: 1, 4: 2}


def test_rule_always_decides():
    _snapshot, compiled = _compiled(
        rule(1, when_no_one_eligible="hold"),
        rule(2),
        rule(3, when_no_one_eligible="assign_anyway"),
    )
    by_id = compiled.rules_by_id
    assert rule_always_decides(compiled, by_id[1]) == (True, False)
    assert rule_always_decides(compiled, by_id[2]) == (False, False)
    assert rule_always_decides(compiled, by_id[3]) == (True, True)


def test_positions_not_snapshot_order_decide_what_is_earlier():
    snapshot, compiled = _compiled(
        rule(1, position=5, conditions=[c("industry", "eq", "x")]),
        rule(2, position=1, when_no_one_eligible="hold"),
    )
    assert {k: s.by_rule_id for k, s in rule_shadows(snapshot, compiled).items()} == {1: 2}
