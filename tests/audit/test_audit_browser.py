"""The quarterly review in a real browser (Playwright + Debian's Chromium, launched as in
tests/portal/test_browser.py): a manager opens the audit from the navigation, picks the
quarter, reads the dead and shadowed rules, opens a version diff from a rule's history, then
signs the review off; no console error, no sideways scroll on a 390 px phone. Screenshots under
var/test-artefacts/audit/ (git-ignored) for a person to look at."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from apps.audit.models import AuditSignOff
from tests.portal.test_browser import (  # noqa: F401 (fixtures)
    DESKTOP,
    PHONE,
    _no_sideways_scroll,
    _page,
    _sign_in,
    _with_password,
    browser,
    site,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTEFACTS = Path(settings.BASE_DIR) / "var" / "test-artefacts" / "audit"


def _shot(page: Any, name: str) -> None:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    width = page.viewport_size["width"]
    page.screenshot(path=str(ARTEFACTS / f"{name}-{width}.png"), full_page=True)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_quarterly_review(browser, site, quarter, boss, viewport) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    _with_password(boss)
    page = _page(browser, viewport)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    _sign_in(page, site, "boss")
    page.goto(f"{site}/audit/")  # the nav link is in the menu on a phone; the URL is the same
    assert page.locator(".mainnav a[aria-current='page']").inner_text() == "Audit"
    # The quarter the leads came in: the period preset, then Show.
    page.select_option("#id_preset", "this_quarter")
    page.click("button:has-text('Show')")
    page.wait_for_url("**preset=this_quarter**")
    rows = page.locator("#table-rules tbody tr")
    assert rows.count() == 8  # seven rules and the removed one
    us_big = page.locator("#table-rules tbody tr", has_text="US big")
    assert (
        "never fired" in us_big.inner_text()
        and "shadowed by Enterprise (1 lead)" in us_big.inner_text()
    )
    assert "Held by rule Hold APAC" in page.locator("#table-unrouted").inner_text()
    _no_sideways_scroll(page)
    _shot(page, "rules")

    # Typing dates switches the period to custom dates (the preset would win otherwise).
    shown = page.url
    page.fill("#id_start", "2026-01-05")
    page.dispatch_event("#id_start", "change")
    assert page.input_value("#id_preset") == ""
    page.goto(shown)

    # A rule's history links to the version that changed it: open that diff.
    webinars = page.locator("#table-rules tbody tr", has_text="Webinars")
    webinars.locator("a", has_text=f"v{quarter['v2'].number}").click()
    page.wait_for_url("**/audit/versions/diff/**")
    renamed = page.locator("#changes-rules li[data-kind='rule_renamed']")
    assert renamed.inner_text() == "Rule 'Webinar' renamed to 'Webinars'"
    assert page.locator("#changes-rules li[data-kind='rule_removed']").count() == 1
    assert page.locator("button:has-text('Restore version 1')").count() == 1
    _no_sideways_scroll(page)
    _shot(page, "diff")

    page.click("a:has-text('Configuration versions')")
    page.wait_for_url("**/audit/versions/")
    assert page.locator("#table-versions tbody tr").count() == 2
    _shot(page, "versions")

    page.click(".audit-tabs a:has-text('Rule audit')")
    page.select_option("#id_preset", "this_quarter")
    page.click("button:has-text('Show')")
    page.wait_for_url("**preset=this_quarter**")
    page.fill("#id_notes", "Dead: Dead, Hold APAC. US big is shadowed by Enterprise: remove it.")
    page.click("#sign-off button[type=submit]")
    page.wait_for_load_state("load")
    assert "Signed off the review" in page.locator(".messages").first.inner_text()
    assert "Reviewed by boss" in page.locator("#sign-off .sign-offs").inner_text()
    assert AuditSignOff.objects.get().notes.startswith("Dead: Dead, Hold APAC.")
    _no_sideways_scroll(page)
    _shot(page, "signed-off")
    assert errors == []
    page.context.close()
