"""POST /api/routing/simulate/: the same engine, nothing written, no rotation advanced."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.leads.models import Lead
from apps.routing.models import Assignment, RotationState
from tests.factories import RepFactory, UserFactory

pytestmark = pytest.mark.django_db
URL = "/api/routing/simulate/"


def test_simulation_explains_and_writes_nothing(west_org, manager_client):
    payload = {"email": "cto@bigco.com", "country": "US", "region": "CA", "company_size": 3000}
    first = manager_client.post(URL, payload, format="json")
    second = manager_client.post(URL, payload, format="json")
    assert first.status_code == 200, first.content
    body = first.json()
    assert body["outcome"] == "assigned"
    assert body["rep"] == "alice"
    assert body["rule"] == "Enterprise West"
    assert body["territory"] == "US-WEST"
    assert body["trace"]["rules"][0]["matched"] is True
    # No rotation advanced: the same answer twice, and nothing stored.
    assert second.json()["rep"] == "alice"
    assert Lead.objects.count() == 0
    assert Assignment.objects.count() == 0
    assert not RotationState.objects.exists()


def test_simulation_shows_why_not_and_takes_a_moment(west_org, manager_client):
    response = manager_client.post(
        URL,
        {
            "email": "x@small.com",
            "country": "US",
            "region": "US-WA",
            "company_size": 5,
            "at": "2026-03-02T18:00:00+00:00",
        },
        format="json",
    )
    body = response.json()
    assert body["trace"]["evaluated_at"].startswith("2026-03-02T18:00:00")
    enterprise = body["trace"]["rules"][0]
    assert enterprise["matched"] is False
    assert "company_size" in enterprise["detail"] and "5" in enterprise["detail"]
    assert body["rule"] == "Everyone else"


def test_simulation_is_for_managers_and_validates(west_org, manager_client):
    rep = RepFactory(user=UserFactory(username="rita"))
    client = APIClient()
    client.force_authenticate(rep.user)
    assert client.post(URL, {"email": "a@b.com"}, format="json").status_code == 403
    assert APIClient().post(URL, {"email": "a@b.com"}, format="json").status_code == 401
    bad = manager_client.post(URL, {"email": "a@b.com", "country": "Narnia"}, format="json")
    assert bad.status_code == 400
    assert "country" in bad.json()


def test_simulation_can_evaluate_all_rules_without_changing_the_decision(west_org, manager_client):
    payload = {
        "email": "cto@bigco.com",
        "country": "US",
        "region": "CA",
        "company_size": 3000,
        "at": "2026-03-02T18:00:00+00:00",
    }
    plain = manager_client.post(URL, payload, format="json").json()
    full = manager_client.post(URL, {**payload, "evaluate_all": True}, format="json").json()
    assert "later_rules" not in plain
    later = full.pop("later_rules")
    assert full == plain
    assert [(r["rule"], r["matched"], r["would_choose"]) for r in later] == [
        ("Everyone else", True, "alice")
    ]
    bad = manager_client.post(URL, {**payload, "evaluate_all": "maybe"}, format="json")
    assert bad.status_code == 400 and "evaluate_all" in bad.json()
