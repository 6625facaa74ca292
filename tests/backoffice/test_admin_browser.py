"""The admin in a real browser at a manager's 1,400 px (#14): wide lists scroll inside their box,
the page itself never scrolls sideways. Screenshots in var/test-artefacts/backoffice/."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.utils import timezone

from apps.leads.models import Lead
from tests.factories import UserFactory
from tests.portal.test_browser import PASSWORD, _page, _sign_in, browser, site  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTEFACTS = Path(settings.BASE_DIR) / "var" / "test-artefacts" / "backoffice"
WIDE = {"width": 1400, "height": 900}
CHANGELISTS = [
    "/admin/leads/lead/",
    "/admin/leads/leadactivity/",
    "/admin/reps/rep/",
    "/admin/reps/timeoff/",
    "/admin/routing/assignment/",
    "/admin/configuration/routingconfigversion/",
    "/admin/notifications/webhookdelivery/",
]


def _widths(page) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return page.evaluate(
        """() => {
          const box = document.querySelector('#changelist-form .results');
          const table = document.querySelector('#result_list');
          const last = document.querySelector('#result_list thead th:last-child');
          let lastVisible = true;
          if (box && last) {
            box.scrollLeft = box.scrollWidth;  // the far end of a wide list is reachable
            lastVisible = last.getBoundingClientRect().right
              <= box.getBoundingClientRect().right + 1;
            box.scrollLeft = 0;
          }
          return {
            page: document.documentElement.scrollWidth,
            box: box ? Math.ceil(box.getBoundingClientRect().right) : 0,
            table: table ? table.scrollWidth : 0,
            inner: box ? box.clientWidth : 0,
            overflow: box ? getComputedStyle(box).overflowX : '',
            lastVisible: lastVisible,
          };
        }"""
    )


def test_wide_changelists_fit_1400px_or_scroll_inside_their_box(browser, site, west_org):  # noqa: F811
    boss = UserFactory(username="boss", is_staff=True)
    boss.set_password(PASSWORD)
    boss.save()
    boss.groups.add(Group.objects.get(name="RevOps managers"))
    alice = west_org["reps"][0]
    for i in range(3):
        Lead.objects.create(
            email=f"someone.with.a.rather.long.address.{i}@a-very-long-company-domain-name.example",
            email_domain="a-very-long-company-domain-name.example",
            first_name="Maximiliana-Josephine",
            last_name="Featherstonehaugh-Cholmondeley",
            company="The Extremely Long Company Name of International Widgets Incorporated",
            status="assigned",
            owner=alice,
            territory=west_org["west"],
            rule=west_org["enterprise"],
            assigned_at=timezone.now(),
        )

    page = _page(browser, WIDE)
    _sign_in(page, site, "boss")
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    for path in CHANGELISTS:
        page.goto(f"{site}{path}")
        widths = _widths(page)
        assert widths["page"] <= WIDE["width"], f"{path}: the page is {widths}"
        assert widths["box"] <= WIDE["width"], f"{path}: the list's box is {widths}"
        if widths["box"]:  # an empty list has no table
            assert widths["overflow"] == "auto" and widths["lastVisible"], f"{path}: {widths}"
        if path == "/admin/leads/lead/":
            # these leads are wider than the box: the case that must scroll inside it
            assert widths["table"] > widths["inner"], widths
            # a value cut short by its ellipsis is whole on hover
            company = page.get_attribute("#result_list tbody tr td.field-company", "title")
            assert (
                company == "The Extremely Long Company Name of International Widgets Incorporated"
            )
        name = path.strip("/").replace("/", "-")
        page.screenshot(path=str(ARTEFACTS / f"{name}-1400.png"), full_page=True)


def test_manager_evaluates_all_rules_and_reads_the_later_ones(browser, site, west_org):  # noqa: F811
    boss = UserFactory(username="boss", is_staff=True)
    boss.set_password(PASSWORD)
    boss.save()
    boss.groups.add(Group.objects.get(name="RevOps managers"))

    page = _page(browser, WIDE)
    _sign_in(page, site, "boss")
    page.goto(f"{site}/admin/rules/routingrule/test-lead/")
    page.fill("#id_email", "cto@bigco.com")
    page.select_option("#id_country", "US")
    page.fill("#id_region", "CA")
    page.fill("#id_company_size", "3000")
    page.check("#id_evaluate_all")
    page.click("input[value='Test this lead']")
    page.wait_for_selector("#rp-result")

    result = page.inner_text("#rp-result")
    assert "by rule Enterprise West" in result
    assert "Evaluate all rules: the rules routing did not reach" in result
    later = page.inner_text("ol.rp-later")
    assert "✔ would match" in later and "#1 Everyone else" in later
    assert "would assign alice" in later
    assert page.is_checked("#id_evaluate_all")  # the form keeps the choice for the next try
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / "evaluate-all-rules-1400.png"), full_page=True)
    assert Lead.objects.count() == 0
