"""The backtest page in a real browser (Playwright + Debian's Chromium): a manager uploads a
draft, runs it over March, reads the figures, opens a changed lead's two traces, and the page
fits a 390 px phone. Screenshots under var/test-artefacts/dashboards/ (git-ignored)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Group

from tests.factories import UserFactory
from tests.portal.test_browser import (  # noqa: F401 (fixtures)
    DESKTOP,
    PASSWORD,
    PHONE,
    _no_sideways_scroll,
    _page,
    _sign_in,
    browser,
    site,
)
from tests.routing.backtest_scenario import draft_document, scenario

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTEFACTS = Path(settings.BASE_DIR) / "var" / "test-artefacts" / "dashboards"


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_manager_backtests_a_draft(browser, site, viewport, tmp_path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    scenario()
    boss = UserFactory(username="boss", is_staff=True)
    boss.groups.add(Group.objects.get(name="RevOps managers"))
    boss.set_password(PASSWORD)
    boss.save()
    draft = tmp_path / "draft.json"
    draft.write_text(json.dumps(draft_document()), encoding="utf-8")
    page = _page(browser, viewport)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    _sign_in(page, site, "boss")
    page.goto(f"{site}/audit/backtest/")
    page.set_input_files("#id_document", str(draft))
    page.fill("#id_start", "2026-03-01")
    page.fill("#id_end", "2026-03-31")
    page.click("button:has-text('Run the backtest')")
    page.wait_for_selector("#kpi-leads")
    assert page.inner_text("#kpi-leads") == "7"
    assert page.inner_text("#kpi-changed") == "4"
    assert page.inner_text("#kpi-gini") == "0.381 → 0.0"
    assert page.locator("#table-reps tbody tr").count() == 4  # ann, bob, cid, unrouted
    first = page.locator("details.backtest-lead").first
    first.locator("summary").click()
    text = first.inner_text()
    assert "bob → cid" in text
    assert "+ Germany: all 1 condition hold -> cid" in text
    _no_sideways_scroll(page)
    _shot(page, "backtest")
    assert errors == []
    page.context.close()


def _shot(page: Any, name: str) -> None:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    width = page.viewport_size["width"]
    page.screenshot(path=str(ARTEFACTS / f"{name}-{width}.png"), full_page=True)
