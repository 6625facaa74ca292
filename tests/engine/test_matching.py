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
