"""The conversion dashboard in a real browser (Playwright + Debian's Chromium, launched as in
tests/portal/test_browser.py): a manager signs in, takes the Conversion tab, the per-rep chart
is painted with its Wilson whiskers and no console error, a filter changes the URL and the
figures, and the page fits a 390 px phone (the tables scroll inside their box). Screenshots
under var/test-artefacts/dashboards/ (git-ignored) for a person to look at."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from tests.dashboards.test_dashboard_browser import PAINTED, _shot
from tests.factories import LeadFactory, RepFactory, TerritoryFactory, UserFactory
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

#: Opaque near-black pixels: only the whiskers are drawn so dark (#222); Chart.js draws text in
#: #666, the grid translucent, the bars in colour and the team line in #555.
WHISKER_PIXELS = """id => { const c = document.getElementById(id); const d = c.getContext('2d')
  .getImageData(0, 0, c.width, c.height).data; let n = 0; for (let i = 0; i < d.length; i += 4)
  { if (d[i + 3] > 200 && d[i] < 60 && d[i + 1] < 60 && d[i + 2] < 60) n++; } return n; }"""


def _data() -> None:
    """Over the last 30 days: ana 4/20 (all EU), ben 16/20 (10 EU, 10 US), col 5/10 (US), dee
    no lead; the team 25/50 = 50%, so ana is below team and ben above."""
    now = timezone.now()
    eu, us = TerritoryFactory(code="EU"), TerritoryFactory(code="US")
    reps = {
        name: RepFactory(user=UserFactory(username=name)) for name in ("ana", "ben", "col", "dee")
    }
    plan = [("ana", eu, 20, 4), ("ben", eu, 10, 8), ("ben", us, 10, 8), ("col", us, 10, 5)]
    n = 0
    for name, territory, leads, converted in plan:
        for i in range(leads):
            n += 1
            LeadFactory(
                owner=reps[name],
                territory=territory,
                lead_source="web" if n % 3 else "event",
                status="converted" if i < converted else ("disqualified" if i % 2 else "contacted"),
                created_at=now - timedelta(days=1 + n % 25, hours=n % 7),
            )


def _manager() -> None:
    boss = UserFactory(username="boss", is_staff=True)
    boss.groups.add(Group.objects.get(name="RevOps managers"))
    boss.set_password(PASSWORD)
    boss.save()


def _cell(page: Any, table: str, row: str, column: int) -> str:
    text: str = (
        page.locator(f"#{table} tbody tr", has_text=row).locator("td").nth(column).inner_text()
    )
    return text.strip()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_manager_reads_and_filters_the_conversion_dashboard(browser, site, viewport) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    _data()
    _manager()
    page = _page(browser, viewport)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    page.goto(f"{site}/")
    page.fill("#id_username", "boss")
    page.fill("#id_password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url("**/dashboards/response-time/")
    page.click("nav.tabs a:has-text('Conversion')")
    page.wait_for_url("**/dashboards/conversion/")
    page.wait_for_load_state("load")

    assert page.evaluate(PAINTED, "chart-conversion-reps"), "the chart is blank"
    assert page.evaluate(WHISKER_PIXELS, "chart-conversion-reps") > 20, "no whiskers drawn"
    assert "50.0%" in page.locator(".kpis").inner_text()  # the team rate
    assert page.locator("#table-conversion-reps tbody tr").count() == 4
    assert _cell(page, "table-conversion-reps", "ana", 4) == "Below team"
    assert _cell(page, "table-conversion-reps", "ben", 4) == "Above team"
    assert _cell(page, "table-conversion-reps", "dee", 2) == "–"  # no lead, no rate
    assert page.locator("#table-conversion-territories tbody tr").count() == 2
    _no_sideways_scroll(page)
    _shot(page, "conversion")

    page.select_option("#id_territory", "US")
    page.click("button:has-text('Apply')")
    page.wait_for_url("**territory=US**")
    page.wait_for_load_state("load")
    assert "/dashboards/conversion/" in page.url
    assert _cell(page, "table-conversion-reps", "ben", 0) == "10"
    assert _cell(page, "table-conversion-reps", "ana", 0) == "0"
    assert "65.0%" in page.locator(".kpis").inner_text()  # 13 of 20
    assert page.locator("#table-conversion-territories tbody tr").count() == 1
    assert page.evaluate(PAINTED, "chart-conversion-reps")
    csv_link = page.locator("#table-conversion-reps caption a.csv").get_attribute("href")
    assert csv_link is not None and "territory=US" in csv_link
    _no_sideways_scroll(page)
    _shot(page, "conversion-us")
    assert errors == []
    page.context.close()
