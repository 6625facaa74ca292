""" "Evaluate all rules" on the admin's Test a lead page (#14): later rules in words, no writes."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from apps.configuration.models import RoutingConfigVersion
from apps.leads.models import Lead
from apps.routing.models import Assignment, RotationState
from tests.factories import RuleFactory, TimeOffFactory

pytestmark = pytest.mark.django_db

TEST_URL = "/admin/rules/routingrule/test-lead/"
UTC = datetime.UTC
#: Monday 2026-03-02 10:00 in the manager's zone (UTC: a manager without a rep)
BIG_CA = {
    "email": "cto@bigco.com",
    "country": "US",
    "region": "CA",
    "company_size": "3000",
    "lead_source": "ads",
    "at": "2026-03-02T10:00",
}


@pytest.fixture
def manager(db):
    user = User.objects.create_user("boss", "boss@example.com", "pw", is_staff=True)
    user.groups.add(Group.objects.get(name="RevOps managers"))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def four_rules(west_org):
    """Enterprise West (0), Everyone else (1), Webinars (2), Paused (3, inactive); alice is on
    time off around the tested moment."""
    RuleFactory(
        name="Webinars",
        position=2,
        conditions=[{"field": "lead_source", "op": "eq", "value": "webinar"}],
        target={"territory": "US-WEST"},
    )
    RuleFactory(name="Paused", position=3, active=False, target={"territory": "US-WEST"})
    TimeOffFactory(
        rep=west_org["reps"][0],
        starts_at=datetime.datetime(2026, 3, 1, tzinfo=UTC),
        ends_at=datetime.datetime(2026, 3, 5, tzinfo=UTC),
    )
    return west_org


def test_evaluate_all_lists_every_later_rule_in_words_and_keeps_the_decision(manager, four_rules):
    before = (
        Lead.objects.count(),
        Assignment.objects.count(),
        RotationState.objects.count(),
        RoutingConfigVersion.objects.count(),
    )
    plain = manager.post(TEST_URL, BIG_CA).context["result"]
    page = manager.post(TEST_URL, {**BIG_CA, "evaluate_all": "on"})

    assert page.status_code == 200
    result = page.context["result"]
    # The decision is the one routing makes without the option.
    assert result["decision"] == plain["decision"]
    assert (result["decision"].rule_name, result["decision"].username) == (
        "Enterprise West",
        "bob",
    )
    assert plain["later"] is None and plain["later_note"] == ""
    everyone, webinars, paused = result["later"]
    assert (everyone["name"], everyone["status"], everyone["chosen"]) == (
        "Everyone else",
        "would_decide",
        "bob",
    )
    assert [(c["rep"], c["eligible"], c["label"]) for c in everyone["candidates"]] == [
        ("alice", False, "on time off"),
        ("bob", True, "eligible"),
    ]
    assert (webinars["status"], webinars["detail"]) == (
        "missed",
        "lead_source eq 'webinar' failed: lead has 'ads'",
    )
    assert paused["status"] == "inactive"
    assert result["later_note"] == (
        "Routing stopped at “Enterprise West”; the 3 rules after it, evaluated anyway, are "
        "listed below: 1 would match."
    )
    html = " ".join(page.content.decode().split())
    assert "Evaluate all rules: the rules routing did not reach" in html
    assert "✔ would match</span> <strong>#1 Everyone else</strong>" in html
    assert (
        '✘ missed</span> <strong>#2 Webinars</strong> <div class="rp-detail">Failing '
        "condition: lead_source eq &#x27;webinar&#x27; failed: lead has &#x27;ads&#x27;</div>"
    ) in html
    assert "– inactive</span> <strong>#3 Paused</strong>" in html
    assert 'alice: <span class="rp-why">on time off</span>' in html
    # Nothing written, no rotation moved.
    after = (
        Lead.objects.count(),
        Assignment.objects.count(),
        RotationState.objects.count(),
        RoutingConfigVersion.objects.count(),
    )
    assert after == before


def test_evaluate_all_when_no_rule_decides_says_every_rule_is_already_listed(manager, four_rules):
    # a lead outside every territory: the catch-all finds no one, so no rule decides
    page = manager.post(TEST_URL, {**BIG_CA, "country": "DE", "region": "", "evaluate_all": "on"})
    result = page.context["result"]
    assert result["decision"].outcome == "unrouted"
    assert result["later"] == []
    assert result["later_note"].startswith("No rule decided")
    assert [r["name"] for r in result["trace"]["rules"]] == [
        "Enterprise West",
        "Everyone else",
        "Webinars",
        "Paused",
    ]


def test_the_last_rule_deciding_has_nothing_after_it(manager, four_rules):
    page = manager.post(
        TEST_URL, {**BIG_CA, "lead_source": "webinar", "company_size": "5", "evaluate_all": "on"}
    )
    result = page.context["result"]
    assert result["decision"].rule_name == "Everyone else"
    assert [r["name"] for r in result["later"]] == ["Webinars", "Paused"]
    assert result["later"][0]["status"] == "would_decide"


def test_one_later_rule_reads_in_the_singular(manager, west_org):
    page = manager.post(TEST_URL, {**BIG_CA, "evaluate_all": "on"})
    assert page.context["result"]["later_note"] == (
        "Routing stopped at “Enterprise West”; the rule after it, evaluated anyway, is listed "
        "below: 1 would match."
    )
