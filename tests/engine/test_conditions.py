"""Every condition op, case-insensitivity, missing values, extra.<key>, any-groups."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from .builders import config, lead, rep, rule, run

LEAD = {
    "email": "Pat@Acme.com",
    "country": "US",
    "region": "US-CA",
    "postal_code": "94105",
    "industry": "Healthcare",
    "lead_source": "Web",
    "company_size": 250,
    "annual_revenue": Decimal("1500000.50"),
    "lead_score": 80,
    "language": "en",
    "title": "VP Sales",
    "extra": {"tier": "Gold", "seats": "120", "tags": ["VIP", "beta"], "trial": True, "blank": ""},
}

CASES: list[tuple[dict[str, Any], bool]] = [
    # eq / ne, case-insensitive
    ({"field": "industry", "op": "eq", "value": "healthcare"}, True),
    ({"field": "industry", "op": "eq", "value": "HEALTHCARE "}, True),
    ({"field": "industry", "op": "eq", "value": "finance"}, False),
    ({"field": "industry", "op": "ne", "value": "finance"}, True),
    ({"field": "industry", "op": "ne", "value": "HealthCare"}, False),
    ({"field": "company_size", "op": "eq", "value": 250}, True),
    ({"field": "annual_revenue", "op": "eq", "value": 1500000.5}, True),
    ({"field": "email_domain", "op": "eq", "value": "ACME.com"}, True),
    ({"field": "email", "op": "eq", "value": "pat@acme.com"}, True),
    # in / not_in
    ({"field": "lead_source", "op": "in", "value": ["partner", "WEB"]}, True),
    ({"field": "lead_source", "op": "in", "value": ["partner"]}, False),
    ({"field": "lead_source", "op": "not_in", "value": ["partner"]}, True),
    ({"field": "lead_source", "op": "not_in", "value": ["web"]}, False),
    ({"field": "lead_score", "op": "in", "value": [70, 80]}, True),
    ({"field": "country", "op": "in", "value": ["us", "ca"]}, True),
    # numeric comparisons, int / Decimal / numeric string in extra
    ({"field": "company_size", "op": "gte", "value": 250}, True),
    ({"field": "company_size", "op": "gt", "value": 250}, False),
    ({"field": "company_size", "op": "lt", "value": 1000}, True),
    ({"field": "company_size", "op": "lte", "value": 249}, False),
    ({"field": "annual_revenue", "op": "gt", "value": 1500000}, True),
    ({"field": "annual_revenue", "op": "lt", "value": 1500000.5}, False),
    ({"field": "extra.seats", "op": "gte", "value": 100}, True),
    ({"field": "extra.seats", "op": "gt", "value": 120}, False),
    ({"field": "extra.tier", "op": "gt", "value": 1}, False),  # not a number: false, no crash
    # strings
    ({"field": "title", "op": "contains", "value": "sales"}, True),
    ({"field": "title", "op": "contains", "value": "marketing"}, False),
    ({"field": "title", "op": "starts_with", "value": "vp"}, True),
    ({"field": "title", "op": "starts_with", "value": "sales"}, False),
    ({"field": "email_domain", "op": "ends_with", "value": ".COM"}, True),
    ({"field": "email_domain", "op": "ends_with", "value": ".io"}, False),
    ({"field": "postal_code", "op": "starts_with", "value": "941"}, True),
    # exists
    ({"field": "industry", "op": "exists", "value": True}, True),
    ({"field": "industry", "op": "exists", "value": False}, False),
    ({"field": "city", "op": "exists", "value": True}, False),
    ({"field": "city", "op": "exists", "value": False}, True),
    ({"field": "extra.blank", "op": "exists", "value": True}, False),  # empty string is missing
    # extra.<key>
    ({"field": "extra.tier", "op": "eq", "value": "gold"}, True),
    ({"field": "extra.tags", "op": "contains", "value": "vip"}, True),
    (
        {"field": "extra.tags", "op": "contains", "value": "vi"},
        False,
    ),  # list: element, not substring
    ({"field": "extra.tags", "op": "in", "value": ["beta", "x"]}, True),
    ({"field": "extra.trial", "op": "eq", "value": True}, True),
    ({"field": "extra.trial", "op": "eq", "value": False}, False),
    # missing values: positive ops false, ne / not_in true
    ({"field": "city", "op": "eq", "value": "paris"}, False),
    ({"field": "city", "op": "ne", "value": "paris"}, True),
    ({"field": "city", "op": "in", "value": ["paris"]}, False),
    ({"field": "city", "op": "not_in", "value": ["paris"]}, True),
    ({"field": "extra.missing", "op": "gt", "value": 0}, False),
    ({"field": "extra.missing", "op": "lt", "value": 0}, False),
    ({"field": "city", "op": "contains", "value": "x"}, False),
    # territory and within
    ({"field": "territory", "op": "eq", "value": "SF"}, True),
    ({"field": "territory", "op": "within", "value": "US-WEST"}, True),
    ({"field": "territory", "op": "within", "value": "WORLD"}, True),
    ({"field": "territory", "op": "within", "value": "SF"}, True),
    ({"field": "territory", "op": "within", "value": "US-EAST"}, False),
    ({"field": "territory", "op": "within", "value": "EMEA"}, False),
    # created_at with an ISO datetime
    ({"field": "created_at", "op": "lt", "value": "2026-03-01T00:00:00Z"}, True),
    ({"field": "created_at", "op": "gte", "value": "2026-03-01T00:00:00+00:00"}, False),
    # groups
    (
        {
            "any": [
                {"field": "industry", "op": "eq", "value": "finance"},
                {"field": "company_size", "op": "gte", "value": 100},
            ]
        },
        True,
    ),
    (
        {
            "any": [
                {"field": "industry", "op": "eq", "value": "finance"},
                {"field": "company_size", "op": "gte", "value": 1000},
            ]
        },
        False,
    ),
    (
        {
            "any": [
                {"field": "industry", "op": "eq", "value": "finance"},
                {
                    "any": [
                        {"field": "lead_score", "op": "gt", "value": 90},
                        {"field": "extra.tier", "op": "eq", "value": "GOLD"},
                    ]
                },
            ]
        },
        True,
    ),
    (
        {
            "all": [
                {"field": "industry", "op": "eq", "value": "healthcare"},
                {"field": "lead_score", "op": "gt", "value": 90},
            ]
        },
        False,
    ),
]


@pytest.fixture(scope="module")
def compiled_by_case() -> list[Any]:
    import datetime

    fields = dict(LEAD, created_at=datetime.datetime(2026, 2, 1, tzinfo=datetime.UTC))
    out = []
    for cond, _ in CASES:
        compiled = config(reps=[rep(1)], rules=[rule(1, conditions=[cond])])
        out.append(run(compiled, lead(**fields)))
    return out


@pytest.mark.parametrize(
    ("index", "case"), list(enumerate(CASES)), ids=[str(c[0])[:70] for c in CASES]
)
def test_condition(
    compiled_by_case: list[Any], index: int, case: tuple[dict[str, Any], bool]
) -> None:
    decision = compiled_by_case[index]
    assert decision.trace["rules"][0]["matched"] is case[1], decision.trace["rules"][0]["detail"]


def test_failure_detail_quotes_the_leads_value() -> None:
    compiled = config(
        reps=[rep(1)],
        rules=[
            rule(1, conditions=[{"field": "company_size", "op": "gte", "value": 1000}]),
            rule(2, conditions=[{"field": "industry", "op": "eq", "value": "finance"}]),
            rule(3, conditions=[{"field": "city", "op": "eq", "value": "Paris"}]),
            rule(
                4,
                conditions=[
                    {
                        "any": [
                            {"field": "country", "op": "eq", "value": "DE"},
                            {"field": "city", "op": "eq", "value": "Paris"},
                        ]
                    }
                ],
            ),
            rule(
                5,
                conditions=[
                    {"field": "company_size", "op": "gte", "value": 1},
                    {"field": "lead_score", "op": "gt", "value": 90},
                ],
            ),
        ],
    )
    d = run(
        compiled,
        lead(country="US", region="US-CA", company_size=250, industry="Healthcare", lead_score=80),
    )
    details = [r["detail"] for r in d.trace["rules"]]
    assert details[0] == "company_size gte 1000 failed: lead has 250"
    assert details[1] == "industry eq 'finance' failed: lead has 'Healthcare'"
    assert details[2] == "city eq 'Paris' failed: lead has no city"
    assert (
        details[3] == "any(country eq 'DE', city eq 'Paris') failed: lead has country 'US', no city"
    )
    assert details[4] == "lead_score gt 90 failed: lead has 80"  # the FIRST failing condition
    assert all(not r["matched"] for r in d.trace["rules"])


def test_matched_detail_counts_conditions() -> None:
    compiled = config(
        reps=[rep(1)],
        rules=[
            rule(
                1,
                conditions=[
                    {"field": "country", "op": "eq", "value": "us"},
                    {"field": "company_size", "op": "gte", "value": 1},
                ],
            )
        ],
    )
    d = run(compiled, lead(country="US", region="US-CA", company_size=5))
    assert d.trace["rules"][0]["detail"] == "all 2 conditions hold"
    assert d.outcome == "assigned"
