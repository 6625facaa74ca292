"""Import leads in a real browser (Playwright + Debian's Chromium): a manager goes from the leads
list to the import, uploads a messy export, checks the preview, starts it, and the page follows
the run by polling its status until the report shows. The run itself is done by the test, as a
worker would, while the page waits. Screenshots under var/test-artefacts/leads/ (git-ignored)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from apps.leads.models import Lead, LeadImport
from apps.routing.import_runs import import_run_stored
from tests.portal.test_browser import (  # noqa: F401 (fixtures)
    DESKTOP,
    _page,
    _sign_in,
    _with_password,
    browser,
    site,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTEFACTS = Path(settings.BASE_DIR) / "var" / "test-artefacts" / "leads"
MESSY = (
    "\ufeffE-mail;Company Name;Country;Region;Employees;\r\n"
    "ann@big.com;Big;United States;CA;5000;\r\n"
    "bo@big.com;Big;USA;WA;Select;\r\n"
    "not-an-email;Bad;France;-;10;\r\n"
).encode()


def test_manager_imports_a_file_and_follows_it_to_the_report(
    browser,  # noqa: F811
    site,  # noqa: F811
    west_org,
    manager_user,
    tmp_path,
    settings,
) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    _with_password(manager_user)
    upload = tmp_path / "crm.csv"
    upload.write_bytes(MESSY)
    page = _page(browser, DESKTOP)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    _sign_in(page, site, "manager")
    page.goto(f"{site}/admin/leads/lead/")
    page.click("text=Import leads")
    page.set_input_files("#id_file", str(upload))
    page.click("input[value='Upload and preview']")
    page.wait_for_selector("#rp-import-preview")
    assert page.locator("#rp-import-preview tbody tr").count() == 3
    assert page.input_value("select[name=col_0]") == "email"
    assert "email: Enter a valid email address." in page.inner_text("#rp-import-preview")
    _shot(page, "preview")
    page.click("input[value='Import']")
    page.wait_for_selector("#rp-import-progress")
    assert page.inner_text("#rp-import-status") == "Waiting for a worker"

    run = LeadImport.objects.get()
    import_run_stored(run_id=run.pk)  # what the imports worker does
    page.wait_for_selector("#rp-import-report")
    report = page.inner_text("#rp-import-report")
    assert "2 imported, 0 duplicates (already imported), 1 rejected." in report
    assert "Routed: 2 assigned." in report
    _shot(page, "report")
    with page.expect_download() as download:
        page.click("text=Download the rejected rows (CSV)")
    assert download.value.suggested_filename == "crm.rejects.csv"
    assert sorted(Lead.objects.values_list("email", flat=True)) == ["ann@big.com", "bo@big.com"]
    assert errors == []
    page.context.close()
    from routing_portal.celery import app

    app.control.purge()  # the task the page queued (no worker here)


def _shot(page: Any, name: str) -> None:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / f"{name}.png"), full_page=True)
