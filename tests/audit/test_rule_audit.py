"""The rule audit over the hand-built quarter of conftest.py: every figure worked out by hand."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from typing import Any

import pytest
from django.utils import timezone

from apps.audit.selectors import rule_audit_report, unrouted_reason
from apps.core.windows import DateWindow
from tests.audit.conftest import API, AUDIT
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def _window() -> DateWindow:
    today = timezone.localdate()
    return DateWindow(start=today - timedelta(days=7), end=today)


def _rules(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {rule["name"]: rule for rule in report["rules"]}


def test_hits_conversions_and_response_per_rule(quarter) -> None:  # type: ignore[no-untyped-def]
    rules = _rules(rule_audit_report(window=_window()))
    figures = {
        name: (r["position"], r["hits"], r["converted"], r["conversion_rate"],
               r["median_response_seconds"], r["never_fired"], r["matched"])
        for name, r in rules.items()
    }  # fmt: skip
    assert figures == {
        # L1 (converted, contacted after 10 min) and L2 (after 30 min): median 20 min.
        "Enterprise": (1, 2, 1, 0.5, 1200.0, False, 2),
        # L3 only; it also met L1's and L2's conditions, which Enterprise took first.
        "US": (2, 1, 0, 0.0, None, False, 3),
        "US big": (3, 0, 0, None, None, True, 1),
        "Webinars": (4, 1, 0, 0.0, None, False, 1),
        # L6 met it; no rep in APAC, so it held the lead: it matched, but never fired.
        "Hold APAC": (5, 0, 0, None, None, True, 1),
        "Dead": (6, 0, 0, None, None, True, 0),
        # Every replayed lead (L1-L6) meets "every lead"; it took L5 only.
        "Catch-all": (7, 1, 0, 0.0, None, False, 6),
    }


def test_shadowed_by_the_data_only_when_every_match_was_taken_earlier(quarter) -> None:  # type: ignore[no-untyped-def]
    rules = _rules(rule_audit_report(window=_window()))
    enterprise = rules["Enterprise"]
    assert rules["US big"]["shadowed_by"] == [
        {"id": enterprise["id"], "name": "Enterprise", "how": "data", "leads": 1}
    ]
    # US lost L1 and L2 to Enterprise but won L3; Hold APAC had its chance (no one eligible);
    # Dead matched nothing; none of them is shadowed.
    for name in ("US", "Hold APAC", "Dead", "Catch-all", "Enterprise", "Webinars"):
        assert rules[name]["shadowed_by"] == [], name


def test_the_static_analysis_hook_adds_rules_whose_conditions_cover(quarter) -> None:  # type: ignore[no-untyped-def]
    def analysis(*, rules):  # type: ignore[no-untyped-def]
        by_name = {rule.name: rule.pk for rule in rules}
        return {by_name["Dead"]: [by_name["US"]], by_name["US big"]: [by_name["Enterprise"]]}

    rules = _rules(rule_audit_report(window=_window(), static_shadows=analysis))
    assert rules["Dead"]["shadowed_by"] == [
        {"id": rules["US"]["id"], "name": "US", "how": "conditions", "leads": None}
    ]
    # Already shadowed by the data by the same rule: listed once, with the data's evidence.
    assert [e["how"] for e in rules["US big"]["shadowed_by"]] == ["data"]


def test_change_history_in_the_window_per_rule(quarter) -> None:  # type: ignore[no-untyped-def]
    report = rule_audit_report(window=_window())
    rules = _rules(report)
    v1, v2 = quarter["v1"].number, quarter["v2"].number
    assert [(c["version"], c["user"], c["summary"]) for c in rules["Webinars"]["changes"]] == [
        (v1, "boss", 'Rule \'Webinar\' added at position 4: lead_source = "webinar" → '
                     "territory EU (round_robin)"),
        (v2, "editor", "Rule 'Webinar' renamed to 'Webinars'"),
    ]  # fmt: skip
    assert [c["summary"] for c in rules["Dead"]["changes"]][1] == (
        'Rule \'Dead\' conditions: industry = "coal" → industry = "mining"'
    )
    # Catch-all moved from 8th to 7th only because Legacy above it went: not a move.
    assert len(rules["Catch-all"]["changes"]) == 1
    assert report["removed_rules"] == [
        {
            "key": "legacy",
            "name": "Legacy",
            "hits": 0,
            "changes": [
                {
                    "at": rules["Dead"]["changes"][0]["at"],
                    "user": "boss",
                    "version": v1,
                    "summary": "Rule 'Legacy' added at position 7: industry = \"fax\" → "
                    "territory US (round_robin)",
                },
                {
                    "at": rules["Dead"]["changes"][1]["at"],
                    "user": "editor",
                    "version": v2,
                    "summary": "Rule 'Legacy' removed (was at position 7: industry = \"fax\" → "
                    "territory US)",
                },
            ],
        }
    ]


def test_a_window_before_the_changes_has_no_history_and_no_hits(quarter) -> None:  # type: ignore[no-untyped-def]
    report = rule_audit_report(window=DateWindow(start=date(2026, 1, 1), end=date(2026, 3, 31)))
    assert all(r["changes"] == [] and r["hits"] == 0 for r in report["rules"])
    assert report["unrouted"] == {"total": 0, "by_reason": []}
    assert report["replay"] == {"leads": 0, "not_replayed": 0}


def test_unrouted_leads_counted_by_reason(quarter) -> None:  # type: ignore[no-untyped-def]
    report = rule_audit_report(window=_window())
    assert report["unrouted"] == {
        "total": 2,
        "by_reason": [
            {"reason": "Held by rule Hold APAC", "leads": 1},
            {"reason": "Unknown (no routing record)", "leads": 1},
        ],
    }
    # L7 was never evaluated by the rules: nothing to replay.
    assert report["replay"] == {"leads": 6, "not_replayed": 0}


@pytest.mark.parametrize(
    ("note", "trace", "reason"),
    [
        ("No rule matched this lead (3 rules evaluated)",
         {"rules": [{"rule": "A", "matched": False}]}, "No rule matched"),
        ("Hold: no eligible rep among 0 in APAC; the rule holds the lead",
         {"rules": [{"rule": "Hold", "matched": True}]}, "Held by rule Hold"),
        ("No rule found an eligible rep (2 rules matched, 0 eligible reps among 5 candidates)",
         {"rules": [{"rule": "A", "matched": True}, {"rule": "B", "matched": True}]},
         "No eligible rep in the matching rules"),
        ("Something else", None, "Something else"),
    ],
)  # fmt: skip
def test_unrouted_reason_groups_the_engines_sentences(note: str, trace: Any, reason: str) -> None:
    assert unrouted_reason(note, trace) == reason


def test_the_report_reads_a_fixed_number_of_queries(  # type: ignore[no-untyped-def]
    quarter, boss_client, window, django_assert_max_num_queries
) -> None:
    # + the configuration in force, read for the static shadow analysis (routing's cache)
    with django_assert_max_num_queries(18):
        assert boss_client.get(f"{API}?{window}").status_code == 200
    for n in range(30):  # many more leads: the same queries
        LeadFactory(country="US", company_size=3000 + n, status="unrouted", owner=None)
    with django_assert_max_num_queries(18):
        assert boss_client.get(f"{API}?{window}").status_code == 200


def test_the_page_shows_findings_history_unrouted_and_the_sign_off_form(  # type: ignore[no-untyped-def]
    quarter, boss_client, window
) -> None:
    html = boss_client.get(f"{AUDIT}?{window}").content.decode()
    assert "never fired" in html
    assert "by Enterprise (1 lead)" in html
    assert "Rule &#x27;Webinar&#x27; renamed to &#x27;Webinars&#x27;" in html
    assert "Held by rule Hold APAC" in html
    assert "This window has not been signed off." in html
    assert 'format=csv"' in html


def _csv(response: Any) -> list[list[str]]:
    body = response.content.decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def test_csv_one_row_per_rule_then_unrouted_then_sign_offs(quarter, boss_client, window) -> None:  # type: ignore[no-untyped-def]
    response = boss_client.get(f"{API}?format=csv&{window}")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    today = timezone.localdate()
    assert response["Content-Disposition"] == (
        f'attachment; filename="rule-audit-{today - timedelta(days=7)}-{today}.csv"'
    )
    rows = _csv(response)
    assert rows[0][:9] == ["position", "rule", "active", "hits", "converted", "conversion_rate",
                           "median_response_seconds", "never_fired", "matched"]  # fmt: skip
    assert rows[1][:9] == ["1", "Enterprise", "yes", "2", "1", "0.5", "1200.0", "no", "2"]
    assert rows[3][1] == "US big" and rows[3][9] == "Enterprise (1 leads)"
    assert rows[8][1] == "Legacy (removed)"
    assert rows[9] == []
    assert rows[10:14] == [
        ["unrouted_reason", "leads"],
        ["Held by rule Hold APAC", "1"],
        ["Unknown (no routing record)", "1"],
        ["total", "2"],
    ]
    assert rows[15] == ["window_start", "window_end", "reviewed_by", "reviewed_at", "notes"]
    assert rows[16][2] == "not signed off"


def test_csv_cells_a_spreadsheet_would_run_are_quoted(boss, boss_client, window) -> None:  # type: ignore[no-untyped-def]
    from apps.configuration.services import routing_config_apply

    document = {"territories": [{"code": "US", "name": "US", "countries": ["US"]}],
                "reps": [{"username": "ann", "territories": ["US"]}], "accounts": [],
                "rules": [{"name": "=HYPERLINK(\"x\")", "target": {"territory": "US"}}]}  # fmt: skip
    routing_config_apply(document=document, actor=boss, source="api")
    rows = _csv(boss_client.get(f"{API}?format=csv&{window}"))
    assert rows[1][1] == '\'=HYPERLINK("x")'


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("start=2026-13-01", "start"),
        ("end=yesterday", "end"),
        ("preset=next_quarter", "preset"),
        ("preset=2026-Q5", "preset"),
        ("start=2026-06-01&end=2026-04-01", "end"),
        ("start=2024-01-01&end=2026-01-01", "end"),
    ],
)
def test_a_bad_window_is_a_400_naming_the_field(boss_client, query, field) -> None:  # type: ignore[no-untyped-def]
    response = boss_client.get(f"{API}?{query}")
    assert response.status_code == 400
    assert field in response.json()
    page = boss_client.get(f"{AUDIT}?{query}")
    assert page.status_code == 400


def test_no_window_is_the_last_quarter(boss_client) -> None:  # type: ignore[no-untyped-def]
    today = timezone.localdate()
    quarter_start = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    last_end = quarter_start - timedelta(days=1)
    last_start = date(last_end.year, 3 * ((last_end.month - 1) // 3) + 1, 1)
    window = boss_client.get(API).json()["window"]
    assert window == {"start": last_start.isoformat(), "end": last_end.isoformat()}
    assert boss_client.get(f"{API}?preset=this_quarter").json()["window"] == {
        "start": quarter_start.isoformat(),
        "end": today.isoformat(),
    }


def test_a_named_quarter_is_that_quarter_whole(boss_client) -> None:  # type: ignore[no-untyped-def]
    assert boss_client.get(f"{API}?preset=2025-Q4").json()["window"] == {
        "start": "2025-10-01",
        "end": "2025-12-31",
    }
    assert boss_client.get(f"{API}?preset=2026-Q1").json()["window"] == {
        "start": "2026-01-01",
        "end": "2026-03-31",
    }
    # The page's period menu offers the last eight quarters by name.
    html = boss_client.get(AUDIT).content.decode()
    today = timezone.localdate()
    quarter = (today.month - 1) // 3 + 1
    previous = f"{today.year}-Q{quarter - 1}" if quarter > 1 else f"{today.year - 1}-Q4"
    assert f'<option value="{previous}">' in html


def test_the_default_static_analysis_is_the_rule_admins(west_org) -> None:  # type: ignore[no-untyped-def]
    from apps.audit.selectors import static_shadow_analysis
    from apps.rules.models import RoutingRule
    from tests.factories import RuleFactory

    # A catch-all that holds the lead when no one is free always decides: every rule after it
    # is shadowed by its conditions (west_org's two rules come after it).
    RoutingRule.objects.filter(pk=west_org["everyone"].pk).update(position=2)
    RoutingRule.objects.filter(pk=west_org["enterprise"].pk).update(position=1)
    holder = RuleFactory(
        name="Hold everything",
        position=0,
        target={"territory": "US-WEST"},
        strategy="round_robin",
        when_no_one_eligible="hold",
    )
    rules = list(RoutingRule.objects.order_by("position", "id"))
    shadows = static_shadow_analysis(rules=rules)
    assert shadows == {
        west_org["enterprise"].pk: [holder.pk],
        west_org["everyone"].pk: [holder.pk],
    }
