"""The rule tools of the admin (#14): test a lead, readable decisions, placement of a new rule."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.configuration.models import RoutingConfigVersion
from apps.leads.models import Lead
from apps.routing.models import Assignment, RotationState
from apps.routing.services import lead_route
from apps.rules.models import RoutingRule
from tests.backoffice.conftest import client_for
from tests.factories import LeadFactory, RuleFactory, TimeOffFactory

pytestmark = pytest.mark.django_db

TEST_URL = "/admin/rules/routingrule/test-lead/"
SMALL_WA = {"email": "ops@small.com", "country": "US", "region": "WA", "company_size": "5"}


# --- test a lead --------------------------------------------------------------------------------


def test_rules_list_links_to_test_a_lead(manager, west_org):
    page = manager.get(reverse("admin:rules_routingrule_changelist"))
    assert page.status_code == 200
    assert TEST_URL in page.content.decode()


@pytest.mark.parametrize("role", ["rep", "integration", "anonymous"])
def test_test_a_lead_is_for_managers_only(role, west_org):
    client = client_for(role, west_org, "view_routingrule")
    for response in (client.get(TEST_URL), client.post(TEST_URL, SMALL_WA)):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))


def test_a_lead_matching_rule_two_shows_rule_one_missed_and_why_reps_are_out(manager, west_org):
    now = timezone.now()
    alice = west_org["reps"][0]  # the least loaded: the first the balancer looks at
    TimeOffFactory(rep=alice, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(days=2))
    assert manager.get(TEST_URL).status_code == 200
    counts = (Lead.objects.count(), Assignment.objects.count(), RotationState.objects.count())
    versions = RoutingConfigVersion.objects.count()

    page = manager.post(TEST_URL, SMALL_WA)

    assert page.status_code == 200
    html = page.content.decode()
    result = page.context["result"]
    assert result["decision"].rule_name == "Everyone else"
    enterprise, everyone = result["trace"]["rules"]
    assert enterprise["status"] == "missed" and enterprise["name"] == "Enterprise West"
    assert "company_size" in enterprise["detail"] and "5" in enterprise["detail"]
    assert everyone["status"] == "decided"
    why = {c["rep"]: c for c in everyone["candidates"]}
    assert why["alice"]["eligible"] is False and why["alice"]["code"] == "time_off"
    assert why["alice"]["label"] == "on time off"
    assert result["decision"].username != "alice" and why[result["decision"].username]["chosen"]
    # ...and a manager reads it on the page, not in JSON.
    assert "Failing condition:" in html and "✘ missed" in html
    assert "alice:" in html and "on time off" in html
    assert f"To <strong>{result['decision'].username}</strong>" in html
    assert "Raw trace (JSON)" in html
    # Nothing written: no lead, assignment, rotation or configuration version.
    assert (Lead.objects.count(), Assignment.objects.count(), RotationState.objects.count()) == (
        counts
    )
    assert RoutingConfigVersion.objects.count() == versions


def test_test_a_lead_takes_a_moment_and_extra_attributes(manager, west_org):
    RoutingRule.objects.filter(pk=west_org["everyone"].pk).update(position=2)
    RuleFactory(
        name="Partners",
        position=1,
        conditions=[{"field": "extra.plan", "op": "eq", "value": "partner"}],
        target={"territory": "US-WEST"},
    )
    page = manager.post(
        TEST_URL, {**SMALL_WA, "extra": "plan=partner\nseats=40", "at": "2026-03-02T10:00"}
    )
    assert page.status_code == 200
    result = page.context["result"]
    assert result["decision"].rule_name == "Partners"
    assert result["trace"]["evaluated_at"].date().isoformat() == "2026-03-02"
    assert "Evaluated at 2026-03-02 10:00:00" in page.content.decode()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("email", "not-an-email"),
        ("country", "NARNIA"),
        ("region", "Atlantis"),
        ("company_size", "-3"),
        ("language", "klingon"),
        ("extra", "no equals sign"),
        ("at", "3026-01-01T00:00"),
    ],
)
def test_bad_input_is_a_form_error_not_a_500(manager, west_org, field, value):
    page = manager.post(TEST_URL, {**SMALL_WA, field: value})
    assert page.status_code == 200
    assert field in page.context["form"].errors
    assert page.context["result"] is None
    assert "Please correct the errors below." in page.content.decode()


# --- readable decisions -------------------------------------------------------------------------


def test_lead_page_shows_the_current_decision_readably(manager, west_org):
    lead = LeadFactory(email="cto@bigco.com", country="US", region="US-CA", company_size=3000)
    lead_route(lead_id=lead.pk)
    lead.refresh_from_db()
    assert lead.status == "assigned"

    page = manager.get(reverse("admin:leads_lead_change", args=[lead.pk]))

    assert page.status_code == 200
    html = page.content.decode()
    assert "Why it went here" in html
    assert "✔ decided" in html and "#0 Enterprise West" in html
    assert f"<strong>→ {lead.owner.user.username}</strong>" in html
    assert '<details class="rp-raw"><summary>Raw trace (JSON)</summary>' in html


def test_lead_page_without_an_owner_says_so(manager, west_org):
    lead = LeadFactory()
    page = manager.get(reverse("admin:leads_lead_change", args=[lead.pk]))
    assert page.status_code == 200
    assert "No current assignment" in page.content.decode()


# --- placement of a new rule --------------------------------------------------------------------


def _rule_data(name: str, **overrides):
    data = {
        "name": name,
        "description": "",
        "active": "on",
        "conditions": '[{"field": "lead_source", "op": "eq", "value": "webinar"}]',
        "strategy": "round_robin",
        "target": '{"territory": "US-WEST"}',
        "when_no_one_eligible": "next_rule",
        "respect_working_hours": "on",
    }
    data.update(overrides)
    return data


def test_a_new_rule_defaults_to_before_the_catch_all(manager, west_org):
    add = reverse("admin:rules_routingrule_add")
    form = manager.get(add)
    assert form.status_code == 200
    everyone = west_org["everyone"]
    assert form.context["adminform"].form["placement"].value() == f"before:{everyone.pk}"
    assert "catch-all" in form.content.decode()
    assert "field-position" not in form.content.decode()  # the placement decides, not a number
    versions = RoutingConfigVersion.objects.count()

    saved = manager.post(add, _rule_data("Webinars", placement=f"before:{everyone.pk}"))

    assert saved.status_code == 302, saved.context["adminform"].form.errors
    names = list(RoutingRule.objects.order_by("position").values_list("name", flat=True))
    assert names == ["Enterprise West", "Webinars", "Everyone else"]
    # One configuration version, written by the configuration's write path.
    assert RoutingConfigVersion.objects.count() == versions + 1
    webinars = RoutingRule.objects.get(name="Webinars")
    assert webinars.history.first().history_user.username == "boss"
    assert saved["Location"].startswith(reverse("admin:rules_routingrule_changelist"))


@pytest.mark.parametrize(
    ("placement", "expected"),
    [
        ("top", ["Webinars", "Enterprise West", "Everyone else"]),
        ("bottom", ["Enterprise West", "Everyone else", "Webinars"]),
    ],
)
def test_a_new_rule_goes_where_asked(manager, west_org, placement, expected):
    saved = manager.post(
        reverse("admin:rules_routingrule_add"), _rule_data("Webinars", placement=placement)
    )
    assert saved.status_code == 302
    assert list(RoutingRule.objects.order_by("position").values_list("name", flat=True)) == (
        expected
    )


def test_placement_errors_and_edits(manager, west_org):
    add = reverse("admin:rules_routingrule_add")
    bad = manager.post(add, _rule_data("Webinars", placement="before:999999"))
    assert bad.status_code == 200
    assert "placement" in bad.context["adminform"].form.errors
    broken = manager.post(add, _rule_data("Webinars", target='{"territory": "NOWHERE"}'))
    assert broken.status_code == 200 and not RoutingRule.objects.filter(name="Webinars").exists()
    # An existing rule has no placement field: it moves by drag and drop.
    change = manager.get(reverse("admin:rules_routingrule_change", args=[west_org["everyone"].pk]))
    assert change.status_code == 200
    assert "placement" not in change.context["adminform"].form.fields


@pytest.mark.parametrize(
    ("trace", "expected"),
    [
        (
            {"outcome": "manual", "rules": [], "actor": "boss", "note": "VIP", "evaluated_at": "x"},
            "Reassigned by hand",
        ),
        ({"outcome": "duplicate", "rules": [], "duplicate_of": 3}, "Kept with the owner"),
        # recorded before candidates carried a code: the sentence still shows
        (
            {
                "outcome": "assigned",
                "rules": [
                    {
                        "rule": "Old",
                        "matched": True,
                        "chosen": "bob",
                        "candidates": [{"rep": "ann", "eligible": False, "why": "away"}],
                    }
                ],
            },
            'ann: <span class="rp-why">not eligible</span> <span class="rp-why-detail">(away)',
        ),
        (None, "No decision recorded"),
        ([1, 2], "No decision recorded"),
    ],
)
def test_any_stored_trace_renders(trace, expected):
    from apps.backoffice.traces import trace_html

    assert expected in " ".join(trace_html(trace).split())
