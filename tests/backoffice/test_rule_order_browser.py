"""Reordering rules in a real browser (Chromium, as tests/portal/test_browser.py) and routing
following the new order; the shadowed-rule warning and the routing flow page.

Headless Chromium does not start an HTML5 drag from a synthetic mouse, so the drag is played
as the events a person's drag fires (pointerdown on the handle, then dragstart, dragover, drop
and dragend sharing one DataTransfer), which is what SortableJS (adminsortable2) listens to.
Screenshots go to var/test-artefacts/backoffice/ (git-ignored).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from apps.configuration.export import routing_config_export
from apps.configuration.models import RoutingConfigVersion
from apps.configuration.services import rule_save
from apps.leads.models import Lead
from apps.rules.models import RoutingRule
from tests.factories import RuleFactory, UserFactory
from tests.portal.test_browser import DESKTOP, PASSWORD, _page, _sign_in, browser, site  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTEFACTS = Path(settings.BASE_DIR) / "var" / "test-artefacts" / "backoffice"
LIST = "/admin/rules/routingrule/"

#: plays a drag of row `source` onto row `target` as the browser's own drag would
DRAG_JS = """
([source, target]) => {
  const rows = [...document.querySelectorAll('#result_list tbody tr')];
  const byName = name => rows.find(r => r.querySelector('th, td.field-name')?.textContent.trim() === name);
  const from = byName(source), to = byName(target);
  const handle = from.querySelector('.handle');
  const box = el => el.getBoundingClientRect();
  const at = (el, dy) => ({clientX: box(el).left + 20, clientY: box(el).top + box(el).height * dy});
  const data = new DataTransfer();
  const fire = (el, type, where) => el.dispatchEvent(new DragEvent(type, {
    bubbles: true, cancelable: true, composed: true, dataTransfer: data, ...where}));
  handle.dispatchEvent(new PointerEvent('pointerdown', {bubbles: true, cancelable: true,
    pointerType: 'mouse', button: 0, buttons: 1, ...at(handle, 0.5)}));
  handle.dispatchEvent(new MouseEvent('mousedown', {bubbles: true, cancelable: true, button: 0,
    buttons: 1, ...at(handle, 0.5)}));
  fire(from, 'dragstart', at(from, 0.5));
  return new Promise(resolve => setTimeout(() => {
    fire(to, 'dragenter', at(to, 0.25));
    fire(to, 'dragover', at(to, 0.25));
    setTimeout(() => {
      fire(to, 'dragover', at(to, 0.2));
      fire(to, 'drop', at(to, 0.2));
      fire(from, 'dragend', at(to, 0.2));
      resolve(true);
    }, 60);
  }, 60));
}
"""


def _names(page: Any) -> list[str]:
    return [
        t.strip()
        for t in page.eval_on_selector_all(
            "#result_list tbody tr th.field-name", "els => els.map(e => e.textContent)"
        )
    ]


def _route_by_api(webform: Any, **fields: Any) -> Lead:
    client = APIClient()
    client.force_authenticate(webform)
    response = client.post("/api/leads/", fields, format="json")
    assert response.status_code in (201, 202), response.content
    return Lead.objects.get(pk=response.json()["id"])


def _shot(page: Any, name: str) -> None:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / f"{name}-1280.png"), full_page=True)


def test_reorder_by_keyboard_and_by_drag_and_routing_follows(
    browser,  # noqa: F811
    site,  # noqa: F811
    west_org,
    webform,
    eager_tasks,
):
    boss = UserFactory(username="boss", is_staff=True)
    boss.set_password(PASSWORD)
    boss.save()
    boss.groups.add(Group.objects.get(name="RevOps managers"))
    small = RuleFactory(
        name="Small West",
        position=2,
        conditions=[
            {"field": "company_size", "op": "lt", "value": 100},
            {"field": "territory", "op": "within", "value": "US-WEST"},
        ],
        target={"reps": [{"username": "carol"}]},
    )

    page = _page(browser, DESKTOP)
    _sign_in(page, site, "boss")
    page.goto(f"{site}{LIST}")
    assert _names(page) == ["Enterprise West", "Everyone else", "Small West"]
    _shot(page, "rules-before-reorder")

    # keyboard: focus "Move to top" of Small West and press Enter
    versions = RoutingConfigVersion.objects.count()
    button = page.locator("button[aria-label='Move to top Small West']")
    button.focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert _names(page) == ["Small West", "Enterprise West", "Everyone else"]
    assert "Moved “Small West” to top" in page.inner_text("ul.messagelist")
    assert RoutingConfigVersion.objects.count() == versions + 1
    lead = _route_by_api(
        webform, email="ops@small.com", country="US", region="US-WA", company_size=5
    )
    assert lead.rule_id == small.pk and lead.owner.user.username == "carol"
    _shot(page, "rules-after-keyboard-move")

    # drag: Everyone else onto the top row
    page.evaluate(DRAG_JS, ["Everyone else", "Small West"])
    page.wait_for_function(
        "() => document.querySelectorAll('#result_list tbody tr')[0]"
        ".querySelector('th.field-name').textContent.trim() === 'Everyone else'"
    )
    page.wait_for_timeout(500)  # the drop's POST
    page.reload()
    assert _names(page) == ["Everyone else", "Small West", "Enterprise West"]
    assert RoutingConfigVersion.objects.count() == versions + 2
    assert list(RoutingRule.objects.order_by("position").values_list("name", flat=True)) == [
        "Everyone else",
        "Small West",
        "Enterprise West",
    ]
    lead = _route_by_api(
        webform, email="cto@small2.com", country="US", region="US-WA", company_size=7
    )
    assert lead.rule_id == west_org["everyone"].pk

    # the catch-all now hides the others: make it hold, and the list says they never fire
    item = next(r for r in routing_config_export()["rules"] if r["name"] == "Everyone else")
    rule_save(name="Everyone else", item={**item, "when_no_one_eligible": "hold"}, actor=boss)
    page.reload()
    warning = page.locator(
        "#result_list tbody tr:has(th.field-name a:text-is('Small West')) li.rp-warning-shadowed"
    )
    assert "Never fires" in warning.inner_text() and "'Everyone else'" in warning.inner_text()
    _shot(page, "rules-shadowed-warning")

    page.click("text=Routing flow")
    page.wait_for_selector("#rp-flow")
    assert "Lead in: 2 routing decisions" in page.inner_text("#rp-lead-in")
    everyone = page.inner_text(f"#rp-step-{west_org['everyone'].pk}")
    assert "took 1" in everyone
    assert "Never fires" in page.inner_text(f"#rp-step-{small.pk}")
    _shot(page, "routing-flow")
