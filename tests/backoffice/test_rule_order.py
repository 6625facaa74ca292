"""The rules list's order tools (#14): keyboard moves, drag and drop, warnings, the routing flow.

Each role is walked: a manager may, a rep (even with a staff flag), an integration account and
an anonymous visitor may not. Every reorder is exactly one configuration version.
"""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.configuration.models import RoutingConfigVersion
from apps.configuration.services import rule_move, rule_order_after_move
from apps.routing.services import lead_route
from apps.rules.models import RoutingRule
from tests.backoffice.conftest import client_for
from tests.factories import LeadFactory, RuleFactory

pytestmark = pytest.mark.django_db

LIST_URL = "/admin/rules/routingrule/"
FLOW_URL = "/admin/rules/routingrule/flow/"
DRAG_URL = "/admin/rules/routingrule/adminsortable2_update/"


def _move_url(rule: RoutingRule, to: str) -> str:
    return reverse("admin:rules_routingrule_move", args=[rule.pk, to])


def _names() -> list[str]:
    return list(RoutingRule.objects.order_by("position", "id").values_list("name", flat=True))


@pytest.fixture
def three(west_org):
    """Enterprise West, Everyone else, and a third rule after the catch-all."""
    late = RuleFactory(
        name="Late rule",
        position=2,
        conditions=[{"field": "industry", "op": "eq", "value": "retail"}],
        target={"territory": "US-WEST"},
    )
    return {**west_org, "late": late}


# --- the order service ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("to", "expected"),
    [
        ("top", [3, 1, 2, 4]),
        ("up", [1, 3, 2, 4]),
        ("down", [1, 2, 4, 3]),
        ("bottom", [1, 2, 4, 3]),
    ],
)
def test_order_after_a_move(to, expected):
    assert rule_order_after_move([1, 2, 3, 4], rule_id=3, to=to) == expected


def test_moves_at_the_ends_change_nothing():
    assert rule_order_after_move([1, 2, 3], rule_id=1, to="up") == [1, 2, 3]
    assert rule_order_after_move([1, 2, 3], rule_id=1, to="top") == [1, 2, 3]
    assert rule_order_after_move([1, 2, 3], rule_id=3, to="down") == [1, 2, 3]


def test_a_move_is_one_version_and_a_no_op_none(three):
    versions = RoutingConfigVersion.objects.count()
    version = rule_move(rule_id=three["late"].pk, to="top", actor=None)
    assert version is not None and version.source == "reorder"
    assert RoutingConfigVersion.objects.count() == versions + 1
    assert _names() == ["Late rule", "Enterprise West", "Everyone else"]
    assert rule_move(rule_id=three["late"].pk, to="up", actor=None) is None
    assert RoutingConfigVersion.objects.count() == versions + 1


# --- keyboard move buttons -----------------------------------------------------------------------


def test_the_list_shows_move_buttons_warnings_and_the_flow_link(manager, three):
    page = manager.get(LIST_URL)
    assert page.status_code == 200
    html = page.content.decode()
    for to in ("top", "up", "down", "bottom"):
        assert f'formaction="{_move_url(three["late"], to)}"' in html
    assert 'aria-label="Move to top Late rule"' in html
    assert FLOW_URL in html and ">Routing flow<" in html
    assert "Warnings" in html
    # the first rule's top/up and the last rule's down/bottom are disabled
    first = three["enterprise"]
    assert f'formaction="{_move_url(first, "up")}" formnovalidate title="Move up" ' in html
    assert html.count(" disabled>") == 4
    assert 'name="csrfmiddlewaretoken"' in html


def test_a_manager_moves_a_rule_with_the_keyboard_buttons(manager, three):
    versions = RoutingConfigVersion.objects.count()
    response = manager.post(_move_url(three["late"], "top"), follow=True)
    assert response.redirect_chain[-1][0] == LIST_URL
    assert _names() == ["Late rule", "Enterprise West", "Everyone else"]
    assert RoutingConfigVersion.objects.count() == versions + 1
    latest = RoutingConfigVersion.objects.order_by("-number").first()
    assert latest.source == "reorder" and latest.author.username == "boss"
    assert "Moved “Late rule” to top: it is now rule 1" in response.content.decode()

    manager.post(_move_url(three["late"], "down"))
    assert _names() == ["Enterprise West", "Late rule", "Everyone else"]
    manager.post(_move_url(three["enterprise"], "bottom"))
    assert _names() == ["Late rule", "Everyone else", "Enterprise West"]
    manager.post(_move_url(three["enterprise"], "up"))
    assert _names() == ["Late rule", "Enterprise West", "Everyone else"]
    assert RoutingConfigVersion.objects.count() == versions + 4

    response = manager.post(_move_url(three["late"], "top"), follow=True)
    assert "“Late rule” is already first." in response.content.decode()
    assert RoutingConfigVersion.objects.count() == versions + 4


def test_routing_follows_a_move(manager, three):
    RoutingRule.objects.filter(pk=three["late"].pk).update(conditions=[])
    lead = LeadFactory(country="US", region="US-CA", company_size=5000)
    manager.post(_move_url(three["late"], "top"))
    lead_route(lead_id=lead.pk)
    lead.refresh_from_db()
    assert lead.rule_id == three["late"].pk


@pytest.mark.parametrize(
    ("method", "url_args", "status"),
    [("get", ("top",), 405), ("post", ("sideways",), 400)],
)
def test_bad_move_requests(manager, three, method, url_args, status):
    url = f"/admin/rules/routingrule/{three['late'].pk}/move/{url_args[0]}/"
    response = getattr(manager, method)(url)
    assert response.status_code == status
    if status == 400:
        assert response.content.decode().startswith("to: must be one of top, up, down, bottom")
    assert _names() == ["Enterprise West", "Everyone else", "Late rule"]


def test_moving_an_unknown_rule_is_a_400(manager, three):
    response = manager.post("/admin/rules/routingrule/999999/move/top/")
    assert response.status_code == 400
    assert "rule: no rule with id" in response.content.decode()


@pytest.mark.parametrize("role", ["rep", "integration", "anonymous"])
def test_only_managers_move_rules(role, three):
    client = client_for(role, three, "change_routingrule")
    versions = RoutingConfigVersion.objects.count()
    for url in (_move_url(three["late"], "top"), LIST_URL, FLOW_URL):
        response = client.post(url) if "move" in url else client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))
    drag = client.post(
        DRAG_URL,
        data=json.dumps({"updatedItems": [[three["late"].pk, 0]]}),
        content_type="application/json",
    )
    assert drag.status_code == 302
    assert _names() == ["Enterprise West", "Everyone else", "Late rule"]
    assert RoutingConfigVersion.objects.count() == versions


# --- drag and drop -------------------------------------------------------------------------------


def test_a_drop_is_one_version_and_routing_follows(manager, three):
    versions = RoutingConfigVersion.objects.count()
    enterprise, everyone, late = three["enterprise"], three["everyone"], three["late"]
    # the script's payload for dragging the last row to the top
    response = manager.post(
        DRAG_URL,
        data=json.dumps({"updatedItems": [[late.pk, 0], [enterprise.pk, 1], [everyone.pk, 2]]}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert response.content.decode() == "Updated 3 items"
    assert _names() == ["Late rule", "Enterprise West", "Everyone else"]
    assert RoutingConfigVersion.objects.count() == versions + 1
    assert RoutingConfigVersion.objects.order_by("-number").first().source == "reorder"
    # each moved rule's history says where it went
    assert late.history.first().position == 0 and enterprise.history.first().position == 1

    same = manager.post(
        DRAG_URL,
        data=json.dumps({"updatedItems": [[late.pk, 0]]}),
        content_type="application/json",
    )
    assert same.content.decode() == "Updated 0 items"
    assert RoutingConfigVersion.objects.count() == versions + 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("not json", "updatedItems: must be a list"),
        ('{"updatedItems": [["x", 1]]}', "updatedItems: must be a list"),
        ('{"updatedItems": [[999999, 0]]}', "updatedItems: unknown rule ids [999999]"),
    ],
)
def test_a_bad_drop_is_a_400_and_changes_nothing(manager, three, body, message):
    versions = RoutingConfigVersion.objects.count()
    response = manager.post(DRAG_URL, data=body, content_type="application/json")
    assert response.status_code == 400
    assert message in response.content.decode()
    assert RoutingConfigVersion.objects.count() == versions


# --- warnings on the list and the form -----------------------------------------------------------


def test_a_shadowed_rule_is_flagged_on_the_list_and_its_form(manager, three):
    RoutingRule.objects.filter(pk=three["everyone"].pk).update(when_no_one_eligible="hold")
    page = manager.get(LIST_URL).content.decode()
    assert 'class="rp-warning rp-warning-shadowed"' in page
    assert "Never fires: every lead it matches is taken first by the earlier rule " in page
    form = manager.get(reverse("admin:rules_routingrule_change", args=[three["late"].pk]))
    html = form.content.decode()
    assert form.status_code == 200
    assert "Never fires" in html and "&#x27;Everyone else&#x27;" in html
    other = manager.get(reverse("admin:rules_routingrule_change", args=[three["enterprise"].pk]))
    assert "Never fires" not in other.content.decode()


def test_the_list_costs_the_same_queries_for_more_rules(manager, three, settings):
    settings.ROUTING_CONFIG_RECHECK_SECONDS = 3600  # no timed recheck between the two reads
    manager.get(LIST_URL)  # warm the configuration cache
    with CaptureQueriesContext(connection) as small:
        manager.get(LIST_URL)
    for k in range(20):
        RuleFactory(
            name=f"More {k}",
            position=10 + k,
            conditions=[{"field": "lead_score", "op": "gte", "value": k}],
            target={"territory": "US-WEST"},
        )
    manager.get(LIST_URL)
    with CaptureQueriesContext(connection) as large:
        page = manager.get(LIST_URL)
    assert page.content.decode().count('class="rp-moves"') == 23
    print("rules list queries:", len(small.captured_queries))
    assert len(small.captured_queries) <= 20
    assert len(large.captured_queries) == len(small.captured_queries)


# --- the routing flow ----------------------------------------------------------------------------


def test_the_flow_page_draws_the_rules_with_their_figures(manager, three):
    for size in (5, 6):
        lead = LeadFactory(country="US", region="US-WA", company_size=size)
        lead_route(lead_id=lead.pk)
    lead = LeadFactory(country="US", region="US-CA", company_size=5000)
    lead_route(lead_id=lead.pk)

    page = manager.get(FLOW_URL)
    assert page.status_code == 200
    flow = page.context["flow"]
    assert flow.days == 30 and flow.lead_in == 3
    assert [(s.name, s.reached, s.took) for s in flow.steps] == [
        ("Enterprise West", 3, 1),
        ("Everyone else", 2, 2),
        ("Late rule", 0, 0),
    ]
    html = page.content.decode()
    assert "Lead in: 3 routing decisions" in html
    assert f'id="rp-step-{three["late"].pk}"' in html
    assert "Unrouted: 0" in html
    assert '<strong aria-current="page">30 days</strong>' in html
    assert manager.get(FLOW_URL + "?days=7").context["flow"].days == 7


@pytest.mark.parametrize("days", ["5", "abc", "-7"])
def test_the_flow_window_must_be_7_30_or_90(manager, three, days):
    response = manager.get(FLOW_URL + f"?days={days}")
    assert response.status_code == 400
    assert response.content.decode() == "days: must be one of 7, 30, 90"


def test_the_flow_page_costs_the_same_queries_for_more_rules_and_leads(manager, three, settings):
    settings.ROUTING_CONFIG_RECHECK_SECONDS = 3600  # no timed recheck between the two reads
    manager.get(FLOW_URL)
    with CaptureQueriesContext(connection) as small:
        manager.get(FLOW_URL)
    for k in range(20):
        RuleFactory(
            name=f"More {k}",
            position=10 + k,
            conditions=[{"field": "lead_score", "op": "gte", "value": k}],
            target={"territory": "US-WEST"},
        )
    for size in range(5):
        lead_route(lead_id=LeadFactory(country="US", region="US-WA", company_size=size).pk)
    with CaptureQueriesContext(connection) as large:
        page = manager.get(FLOW_URL)
    assert page.context["flow"].lead_in == 5 and len(page.context["flow"].steps) == 23
    assert len(small.captured_queries) <= 20
    assert len(large.captured_queries) == len(small.captured_queries)
