"""The rule builder in a real browser (Chromium, as tests/portal/test_browser.py).

A manager builds a rule without typing JSON (country in a list, company size at least 1,000,
chosen reps with weights), saves it, finds it placed before the catch-all rule, and a lead
submitted through the API is routed by it. A bad condition comes back marked on its row.
Screenshots go to var/test-artefacts/backoffice/ (git-ignored) for a person to look at.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from apps.leads.models import Lead, LeadStatus
from apps.rules.models import RoutingRule
from tests.factories import UserFactory
from tests.portal.test_browser import DESKTOP, PASSWORD, _page, _sign_in, browser, site  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTEFACTS = Path(settings.BASE_DIR) / "var" / "test-artefacts" / "backoffice"


def _manager() -> Any:
    boss = UserFactory(username="boss", is_staff=True)
    boss.set_password(PASSWORD)
    boss.save()
    boss.groups.add(Group.objects.get(name="RevOps managers"))
    return boss


def _shot(page: Any, name: str) -> None:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / f"{name}-1280.png"), full_page=True)


def test_manager_builds_a_rule_and_a_lead_follows_it(
    browser,  # noqa: F811
    site,  # noqa: F811
    west_org,
    webform,
    eager_tasks,
):
    _manager()
    page = _page(browser, DESKTOP)
    _sign_in(page, site, "boss")
    page.goto(f"{site}/admin/rules/routingrule/add/")
    conditions = page.locator(".rp-builder[data-builder=conditions]")
    target = page.locator(".rp-builder[data-builder=target]")
    conditions.locator(".rp-builder-ui").wait_for()
    # the builder, not the JSON, is what a manager sees first
    assert not conditions.locator("textarea").is_visible()
    assert conditions.locator(".rp-preview").inner_text() == "Applies to: Every lead"
    page.fill("#id_name", "Big North America")

    # country in (US, CA): pick each from the ISO list and add it
    conditions.locator("button.rp-add-condition").click()
    row = conditions.locator(".rp-row").nth(0)
    row.locator("select.rp-field").select_option("country")
    row.locator("select.rp-op").select_option("in")
    for code in ("US", "CA"):
        row.locator("select.rp-pick").select_option(code)
        row.locator("button.rp-add-value").click()
    assert row.locator(".rp-chip").all_text_contents() == ["US×", "CA×"]
    # only the ops a number takes, then company size ≥ 1000
    conditions.locator("button.rp-add-condition").click()
    row = conditions.locator(".rp-row").nth(1)
    row.locator("select.rp-field").select_option("company_size")
    ops = row.locator("select.rp-op option").evaluate_all("els => els.map(e => e.value)")
    assert "gte" in ops and "within" not in ops
    row.locator("select.rp-op").select_option("gte")
    row.locator("input.rp-number").fill("1000")
    preview = conditions.locator(".rp-preview")
    assert preview.inner_text() == "Applies to: Country in (US, CA) and company size ≥ 1,000"
    # an "any of" group reads as an "or" in the sentence; removed again, it leaves no trace
    conditions.locator("button.rp-add-group").last.click()
    group = conditions.locator(".rp-group-any")
    group.locator("button.rp-add-condition").click()
    for k, source in enumerate(("webinar", "partner")):
        member = group.locator(".rp-row").nth(k)
        member.locator("select.rp-field").select_option("lead_source")
        member.locator("input.rp-pick").fill(source)
    assert preview.inner_text() == (
        "Applies to: Country in (US, CA) and company size ≥ 1,000 and "
        "(lead source = “webinar” or lead source = “partner”)"
    )
    _shot(page, "rule-builder-any-of")
    group.locator("button.rp-remove[title='Remove this group']").click()
    assert preview.inner_text() == "Applies to: Country in (US, CA) and company size ≥ 1,000"
    # regions load per country, opening on the country the rule already names
    conditions.locator("button.rp-add-condition").last.click()
    row = conditions.locator(".rp-row").nth(2)
    row.locator("select.rp-field").select_option("region")
    assert row.locator("select.rp-region-country").input_value() == "US"
    row.locator("select.rp-pick option[value='US-WA']").wait_for(state="attached")
    row.locator("select.rp-pick").select_option("US-WA")
    assert preview.inner_text().endswith("company size ≥ 1,000 and region = US-WA")
    row.locator("select.rp-region-country").select_option("CA")
    row.locator("select.rp-pick option[value='CA-BC']").wait_for(state="attached")
    row.locator("button.rp-remove").click()
    assert preview.inner_text() == "Applies to: Country in (US, CA) and company size ≥ 1,000"

    # weighted round robin between alice (3) and bob (1): weights appear with the strategy
    page.select_option("#id_strategy", "weighted_round_robin")
    target.locator("input[type=radio][value=reps]").check()
    target.locator("input.rp-rep[value=alice]").check()
    target.locator("input.rp-rep[value=bob]").check()
    target.locator("input.rp-weight[aria-label='Weight of alice']").fill("3")
    assert target.locator(".rp-preview").inner_text() == (
        "Goes to: alice ×3, bob ×1, by weighted round robin"
    )
    page.select_option("#id_strategy", "round_robin")
    assert target.locator("input.rp-weight").count() == 0  # no weights where none are read
    page.select_option("#id_strategy", "weighted_round_robin")
    target.locator("input.rp-weight[aria-label='Weight of alice']").fill("3")

    # the raw JSON is the builder's work, there for power users
    conditions.locator("button.rp-raw-toggle").click()
    raw = conditions.locator("textarea")
    assert raw.is_visible()
    assert '"value": 1000' in raw.input_value()
    # an edit there comes back into the rows; broken JSON keeps the raw view, saying why
    raw.fill(raw.input_value().replace('"value": 1000', '"value": 2500'))
    conditions.locator("button.rp-raw-toggle").click()
    assert not raw.is_visible()
    assert conditions.locator(".rp-row").nth(1).locator("input.rp-number").input_value() == "2500"
    assert preview.inner_text().endswith("company size ≥ 2,500")
    conditions.locator("button.rp-raw-toggle").click()
    good = raw.input_value()
    raw.fill(good[:-1])
    conditions.locator("button.rp-raw-toggle").click()
    assert raw.is_visible()
    assert "The JSON is not valid" in conditions.locator(".rp-notice").inner_text()
    raw.fill(good)
    conditions.locator("button.rp-raw-toggle").click()
    assert not raw.is_visible() and not conditions.locator(".rp-notice").is_visible()
    conditions.locator(".rp-row").nth(1).locator("input.rp-number").fill("1000")
    placement = page.eval_on_selector("#id_placement", "el => el.selectedOptions[0].textContent")
    assert "Everyone else" in placement and "catch-all" in placement
    _shot(page, "rule-builder")

    page.click("input[name=_save]")
    page.wait_for_url("**/admin/rules/routingrule/")
    rule = RoutingRule.objects.get(name="Big North America")
    assert rule.conditions == [
        {"field": "country", "op": "in", "value": ["US", "CA"]},
        {"field": "company_size", "op": "gte", "value": 1000},
    ]
    assert rule.target == {
        "reps": [{"username": "alice", "weight": 3}, {"username": "bob", "weight": 1}]
    }
    assert rule.strategy == "weighted_round_robin"
    names = [n.strip() for n in page.locator("#result_list .field-name").all_inner_texts()]
    assert names == ["Enterprise West", "Big North America", "Everyone else"]
    _shot(page, "rule-builder-saved")

    # a big Canadian lead misses Enterprise West (not in US-WEST) and this rule takes it
    api = APIClient()
    api.force_authenticate(webform)
    response = api.post(
        "/api/leads/",
        {"email": "cto@maple.ca", "country": "CA", "company_size": 5000},
        format="json",
    )
    assert response.status_code == 201, response.content
    lead = Lead.objects.get(pk=response.json()["id"])
    assert lead.status == LeadStatus.ASSIGNED
    assert lead.rule_id == rule.pk
    assert lead.owner.user.username == "alice"  # the heavier weight goes first

    # a bad value comes back marked on its row, in words
    page.goto(f"{site}/admin/rules/routingrule/{rule.pk}/change/")
    row = conditions.locator(".rp-row").nth(1)
    row.locator("input.rp-number").fill("")
    page.click("input[name=_save]")
    page.wait_for_selector(".rp-row.rp-has-errors")
    marked = conditions.locator(".rp-row.rp-has-errors")
    assert marked.count() == 1
    assert "'gte' needs a number" in marked.inner_text()
    assert "Condition 2 (company_size ≥" in page.inner_text(".field-conditions .errorlist")
    _shot(page, "rule-builder-error")
    rule.refresh_from_db()
    assert rule.conditions[1]["value"] == 1000
    page.context.close()
