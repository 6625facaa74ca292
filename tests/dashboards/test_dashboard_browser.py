"""The response-time dashboard in a real browser (Playwright + Debian's Chromium, launched as in
tests/portal/test_browser.py): a manager signs in, lands on it, every chart is painted with no
console error, a filter changes the URL and the figures, and the page fits a 390 px phone.
Screenshots under var/test-artefacts/dashboards/ (git-ignored) for a person to look at."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.utils import timezone

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

ARTEFACTS = Path(settings.BASE_DIR) / "var" / "test-artefacts" / "dashboards"
PAINTED = """id => { const c = document.getElementById(id); const d = c.getContext('2d')
  .getImageData(0, 0, c.width, c.height).data; for (let i = 3; i < d.length; i += 4)
  { if (d[i] !== 0) return c.width > 0; } return false; }"""


def _data() -> None:
    now = timezone.now()
    eu = TerritoryFactory(code="EU")
    for n, minutes in enumerate([2, 4, 9, 12, 30, 45, 90, 200, 600, 1600]):
        rep = RepFactory(user=UserFactory(username=f"rep{n % 4}")) if n < 4 else None
        created = now - timedelta(days=n * 2 + 1, hours=n)
        LeadFactory(
            owner=rep or RepFactory._meta.model.objects.get(user__username=f"rep{n % 4}"),
            territory=eu if n % 2 else None,
            lead_source="web" if n % 3 else "event",
            status="contacted",
            created_at=created,
            assigned_at=created,
            sla_due_at=created + timedelta(minutes=60),
            first_contacted_at=created + timedelta(minutes=minutes),
        )


def _shot(page: Any, name: str) -> None:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    width = page.viewport_size["width"]
    page.screenshot(path=str(ARTEFACTS / f"{name}-{width}.png"), full_page=True)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_manager_reads_and_filters_the_response_time_dashboard(browser, site, viewport) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
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
    page.wait_for_url("**/dashboards/response-time/")
    page.wait_for_load_state("load")
    for chart in ("chart-histogram", "chart-daily", "chart-reps"):
        assert page.evaluate(PAINTED, chart), f"{chart} is blank"
    assert page.locator("#table-histogram tbody tr").count() == 7
    assert "10" in page.locator(".kpi").first.inner_text()
    _no_sideways_scroll(page)
    _shot(page, "response-time")

    page.select_option("#id_preset", "7d")
    page.click("button:has-text('Apply')")
    page.wait_for_url("**preset=7d**")
    page.wait_for_load_state("load")
    assert page.locator("#table-daily tbody tr").count() == 7
    assert page.evaluate(PAINTED, "chart-daily")
    _no_sideways_scroll(page)
    _shot(page, "response-time-7d")

    page.fill("#id_start", "2026-01-05")  # typing a date switches the period to custom dates
    page.fill("#id_end", "2026-01-06")
    page.dispatch_event("#id_end", "change")
    assert page.input_value("#id_preset") == ""
    page.click("button:has-text('Apply')")
    page.wait_for_url("**start=2026-01-05**")
    assert page.locator("#table-daily tbody tr").count() == 2
    assert errors == []
    page.context.close()
