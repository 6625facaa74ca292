"""The distribution-balance dashboard in a real browser (Playwright + Debian's Chromium, launched
as in tests/portal/test_browser.py): a manager signs in, opens it from the tabs, the chart is
painted with no console error, the starved rep is flagged with the reason, a filter changes the
URL and the figures, and the page fits a 390 px phone. Screenshots under
var/test-artefacts/dashboards/ (git-ignored) for a person to look at."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.utils import timezone

from apps.reps.models import Rep
from apps.routing.models import Assignment
from tests.factories import LeadFactory, RepFactory, TerritoryFactory, TimeOffFactory, UserFactory
from tests.portal.test_browser import (  # noqa: F401 (fixtures)
    DESKTOP,
    PASSWORD,
    PHONE,
    _no_sideways_scroll,
    _page,
    browser,
    site,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTEFACTS = Path(settings.BASE_DIR) / "var" / "test-artefacts" / "dashboards"
PAINTED = """id => { const c = document.getElementById(id); const d = c.getContext('2d')
  .getImageData(0, 0, c.width, c.height).data; for (let i = 3; i < d.length; i += 4)
  { if (d[i] !== 0) return c.width > 0; } return false; }"""


def _data() -> None:
    """Four reps over the last 30 days: ann and bob get a lead a day, cid none (starved),
    dan was on time off the last 20 days and got his 3 leads before it."""
    now = timezone.now()
    eu = TerritoryFactory(code="EU")
    reps = {
        name: RepFactory(user=UserFactory(username=name), territories=[eu])
        for name in ("ann", "bob", "cid", "dan")
    }
    Rep.history.update(history_date=now - timedelta(days=400))
    TimeOffFactory(rep=reps["dan"], starts_at=now - timedelta(days=20), ends_at=now)

    def assign(rep: Rep, days_ago: float, source: str = "web") -> None:
        when = now - timedelta(days=days_ago)
        lead = LeadFactory(
            owner=rep, territory=eu, lead_source=source, status="assigned", created_at=when
        )
        Assignment.objects.create(lead=lead, rep=rep, kind="auto", reason="test", assigned_at=when)

    for day in range(28):
        assign(reps["ann"], day + 0.1, "event" if day < 3 else "web")
        assign(reps["bob"], day + 0.2)
    for day in (25, 26, 27):
        assign(reps["dan"], day + 0.3)


def _shot(page: Any, name: str) -> None:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    width = page.viewport_size["width"]
    page.screenshot(path=str(ARTEFACTS / f"{name}-{width}.png"), full_page=True)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_manager_finds_the_starved_rep(browser, site, viewport) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    _data()
    boss = UserFactory(username="boss", is_staff=True)
    boss.groups.add(Group.objects.get(name="RevOps managers"))
    boss.set_password(PASSWORD)
    boss.save()
    page = _page(browser, viewport)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    page.goto(f"{site}/")
    page.fill("#id_username", "boss")
    page.fill("#id_password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url("**/dashboards/**")
    page.click("nav.tabs a:has-text('Distribution balance')")
    page.wait_for_url("**/dashboards/balance/**")
    page.wait_for_load_state("load")
    assert page.evaluate(PAINTED, "chart-balance"), "the balance chart is blank"
    assert page.locator("#table-balance tbody tr").count() == 4
    cid = page.locator("#table-balance tbody tr", has_text="cid")
    assert "starved" in cid.inner_text()
    assert "cid: received 0 of an expected 17.7" in page.locator("#flagged").inner_text()
    dan = page.locator("#table-balance tbody tr", has_text="dan")
    assert "10 / 30" in dan.inner_text()  # available 10 of 30 days
    assert "a rep got none (starved)" in page.locator(".kpis").inner_text()
    _no_sideways_scroll(page)
    _shot(page, "balance")

    page.fill("#id_lead_source", "event")
    page.click("button:has-text('Apply')")
    page.wait_for_url("**lead_source=event**")
    page.wait_for_load_state("load")
    assert page.locator("section.kpis .kpi-value").first.inner_text() == "3"
    assert page.evaluate(PAINTED, "chart-balance")
    _no_sideways_scroll(page)
    _shot(page, "balance-event")
    assert errors == []
    page.context.close()
