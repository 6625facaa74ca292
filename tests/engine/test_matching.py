"""rule_matcher_compile: which active rules' conditions a lead meets, as decide() reads them."""

from __future__ import annotations

from apps.engine import MatchRule, rule_matcher_compile
from tests.engine.builders import TREE


def _matcher():  # type: ignore[no-untyped-def]
    return rule_matcher_compile(
        territories=TREE,
        rules=[
            MatchRule(key="big", active=True, conditions=[{"field": "company_size", "op": "gte", "value": 1000}]),
            MatchRule(key="west", active=True, conditions=[{"field": "territory", "op": "within", "value": "US-WEST"}]),
            MatchRule(key="off", active=False, conditions=[]),
            MatchRule(key="gone", active=True, conditions=[{"field": "territory", "op": "within", "value": "GONE"}]),
            MatchRule(key="webinar", active=True, conditions=[{"field": "lead_source", "op": "eq", "value": "Webinar"}]),
            MatchRule(key="all", active=True, conditions=[]),
        ],
    )  # fmt: skip


def test_matching_lists_every_active_rule_whose_conditions_hold_in_order() -> None:
    matcher = _matcher()
    # San Francisco's postal prefix puts the lead in SF, within US-WEST; strings compare in any case.
    lead = {"country": "US", "region": "US-CA", "postal_code": "94107", "company_size": 5000,
            "lead_source": "webinar "}  # fmt: skip
    assert matcher.matching(lead) == ("big", "west", "webinar", "all")
    assert matcher.matching({"country": "DE", "company_size": 10}) == ("all",)


def test_missing_values_fail_positive_conditions() -> None:
    assert _matcher().matching({}) == ("all",)


def test_a_rule_that_does_not_compile_is_reported_and_never_matches() -> None:
    matcher = _matcher()
    assert list(matcher.unmatchable) == ["gone"]
    assert "GONE" in matcher.unmatchable["gone"]


def test_leads_alike_in_what_the_rules_read_are_answered_from_the_memo() -> None:
    matcher = _matcher()
    # The rules read company_size, lead_source and the territory (country, region, postal code).
    assert matcher.reads == ("company_size", "country", "lead_source", "postal_code", "region")
    first = {"country": "US", "region": "US-CA", "postal_code": "94107", "company_size": 5000}
    assert matcher.matching(first) == ("big", "west", "all")
    # Another lead, the same in those fields (a different email): one remembered answer.
    assert matcher.matching({**first, "email": "x@y.com"}) == ("big", "west", "all")
    assert len(matcher.memo) == 1
    assert matcher.matching({**first, "company_size": 5}) == ("west", "all")
    assert len(matcher.memo) == 2


def test_unhashable_extra_values_are_evaluated_not_remembered() -> None:
    matcher = rule_matcher_compile(
        territories=TREE,
        rules=[MatchRule(key="tag", active=True, conditions=[{"field": "extra.tags", "op": "contains", "value": "vip"}])],
    )  # fmt: skip
    assert matcher.matching({"extra": {"tags": ["vip", "eu"]}}) == ("tag",)
    assert matcher.matching({"extra": {"tags": ["eu"]}}) == ()
    assert matcher.memo == {}
