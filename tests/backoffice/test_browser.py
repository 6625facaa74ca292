"""The admin's rule tools in a real browser (Chromium, as tests/portal/test_browser.py).

A manager opens the rules list, follows "Test a lead", describes a lead and reads the trace.
Screenshots go to var/test-artefacts/backoffice/ (git-ignored) for a person to look at.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.utils import timezone

from apps.leads.models import Lead
from tests.factories import TimeOffFactory, UserFactory
from tests.portal.test_browser import DESKTOP, PASSWORD, _page, _sign_in, browser, site  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTEFACTS = Path(settings.BASE_DIR) / "var" / "test-artefacts" / "backoffice"


def test_manager_tests_a_lead_and_reads_the_trace(browser, site, west_org):  # noqa: F811
    boss = UserFactory(username="boss", is_staff=True)
    boss.set_password(PASSWORD)
    boss.save()
    boss.groups.add(Group.objects.get(name="RevOps managers"))
    now = timezone.now()
    alice = west_org["reps"][0]
    TimeOffFactory(rep=alice, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(days=3))

    page = _page(browser, DESKTOP)
    _sign_in(page, site, "boss")
    page.goto(f"{site}/admin/rules/routingrule/")
    page.click("text=Test a lead")
    page.fill("#id_email", "ops@small.com")
    page.select_option("#id_country", "US")
    page.fill("#id_region", "WA")
    page.fill("#id_company_size", "5")
    page.fill("#id_extra", "plan=starter")
    page.click("input[value='Test this lead']")
    page.wait_for_selector("#rp-result")

    result = page.inner_text("#rp-result")
    assert "Everyone else" in result
    assert "✘ missed" in result and "Failing condition:" in result
    assert "alice: on time off" in result
    assert not page.is_visible("details.rp-raw pre")  # the raw JSON stays folded
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / "test-a-lead-1280.png"), full_page=True)
    assert Lead.objects.count() == 0


def test_manager_reads_a_decision_and_places_a_new_rule(browser, site, west_org):  # noqa: F811
    from apps.routing.services import lead_route
    from tests.factories import LeadFactory

    boss = UserFactory(username="boss", is_staff=True)
    boss.set_password(PASSWORD)
    boss.save()
    boss.groups.add(Group.objects.get(name="RevOps managers"))
    lead = LeadFactory(email="cto@bigco.com", country="US", region="US-CA", company_size=3000)
    lead_route(lead_id=lead.pk)

    page = _page(browser, DESKTOP)
    _sign_in(page, site, "boss")
    page.goto(f"{site}/admin/leads/lead/{lead.pk}/change/")
    decision = page.inner_text(".field-current_decision")
    assert "✔ decided" in decision and "Enterprise West" in decision
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / "lead-decision-1280.png"), full_page=True)

    page.goto(f"{site}/admin/rules/routingrule/add/")
    chosen = page.eval_on_selector("#id_placement", "el => el.selectedOptions[0].textContent")
    assert "Everyone else" in chosen and "catch-all" in chosen
    page.screenshot(path=str(ARTEFACTS / "rule-add-1280.png"), full_page=True)
