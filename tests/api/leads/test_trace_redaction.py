"""A rep reading their lead's trace never learns a colleague's time off, away state or load.

Managers read the trace as recorded (words per machine code); a rep sees their own entry in
full and colleagues as generic words. Time-off reasons are codes; the free-text note reaches
no trace, reason sentence or notification.
"""

from __future__ import annotations

import importlib
import json
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.leads.models import LeadActivity
from apps.reps.models import Rep
from apps.routing.models import Assignment
from apps.routing.services import lead_route
from tests.factories import LeadFactory, TimeOffFactory

pytestmark = pytest.mark.django_db

SECRET = "medical leave: knee surgery"


def _client(user):  # type: ignore[no-untyped-def]
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def routed(west_org):  # type: ignore[no-untyped-def]
    """alice's second enterprise lead: the rotation walked past bob (time off), carol (away)."""
    now = timezone.now()
    first = LeadFactory(company_size=5000, country="US", region="US-CA")
    lead_route(lead_id=first.pk, now=now)
    bob, carol = (Rep.objects.get(user__username=name) for name in ("bob", "carol"))
    TimeOffFactory(
        rep=bob,
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=3),
        reason="sick",
        note=SECRET,
    )
    carol.away = True
    carol.save()
    lead = LeadFactory(company_size=5000, country="US", region="US-CA")
    lead_route(lead_id=lead.pk, now=now)
    lead.refresh_from_db()
    assert lead.owner.username == "alice"
    return lead


def _candidates(body):  # type: ignore[no-untyped-def]
    return {c["rep"]: c for c in body[0]["trace"]["rules"][-1]["candidates"]}


def test_rep_sees_colleagues_as_generic_words(routed, west_org):
    alice = west_org["reps"][0].user
    response = _client(alice).get(f"/api/leads/{routed.pk}/assignments/")
    assert response.status_code == 200
    candidates = _candidates(response.json()["results"])
    assert candidates["bob"] == {
        "rep": "bob",
        "eligible": False,
        "why": "not eligible: time off",
        "code": "time_off",
    }
    assert candidates["carol"] == {
        "rep": "carol",
        "eligible": False,
        "why": "not eligible: away",
        "code": "away",
    }
    assert candidates["alice"]["why"] == "next in rotation"  # their own entry, in full
    text = response.content.decode()
    for leak in ("sick", "knee", "medical", "until"):
        assert leak not in text


def test_manager_sees_the_full_words_but_never_the_note(routed, manager_client):
    response = manager_client.get(f"/api/leads/{routed.pk}/assignments/")
    candidates = _candidates(response.json()["results"])
    assert candidates["bob"]["code"] == "time_off"
    assert candidates["bob"]["why"].startswith("time off until ")
    assert candidates["bob"]["why"].endswith("(sick)")
    assert candidates["carol"]["why"] == "away"
    assert "knee" not in response.content.decode()


def test_old_records_with_free_text_are_redacted_for_reps(west_org, manager_client):
    alice = west_org["reps"][0]
    lead = LeadFactory(owner=alice, status="assigned")
    legacy = {
        "outcome": "assigned",
        "rules": [
            {
                "rule": "Enterprise West",
                "candidates": [
                    {
                        "rep": "bob",
                        "eligible": False,
                        "why": f"time off until 2027-01-04 ({SECRET})",
                    },
                    {"rep": "carol", "eligible": False, "why": "at capacity 50/50 open leads"},
                    {"rep": "dave", "eligible": True, "why": "eligible, 3 open leads"},
                    {"rep": "alice", "eligible": True, "why": "next in rotation"},
                ],
            }
        ],
    }
    reason = (
        f"bob is unavailable (on time off until 2026-05-01 09:00 UTC: {SECRET}). "
        "Enterprise West: round robin among 3 reps of US-WEST"
    )
    Assignment.objects.create(
        lead=lead, rep=alice, kind="reassign_unavailable", reason=reason, trace=legacy
    )
    LeadActivity.objects.create(lead=lead, kind="reassigned", note=reason, data={"trace": legacy})
    client = _client(alice.user)
    assignments = client.get(f"/api/leads/{lead.pk}/assignments/")
    activity = client.get(f"/api/leads/{lead.pk}/activity/")
    for response in (assignments, activity):
        assert response.status_code == 200
        text = response.content.decode()
        assert "knee" not in text and "2026-05-01" not in text and "50/50" not in text
    row = assignments.json()["results"][0]
    assert row["reason"] == (
        "bob is unavailable (on time off). Enterprise West: round robin among 3 reps of US-WEST"
    )
    candidates = _candidates([row])
    assert candidates["bob"]["why"] == "not eligible: time off"
    assert candidates["carol"]["why"] == "not eligible: at capacity"
    assert candidates["dave"]["why"] == "eligible"
    assert candidates["alice"]["why"] == "next in rotation"
    note = activity.json()["results"][-1]
    assert note["data"]["trace"]["rules"][0]["candidates"][0]["why"] == "not eligible: time off"
    # Managers read the record as it was written.
    full = manager_client.get(f"/api/leads/{lead.pk}/assignments/").json()["results"][0]
    assert full["reason"] == reason


def test_a_colleagues_load_in_the_reason_is_hidden_from_reps(west_org, manager_client):
    """A load-balanced pick's sentence names the chosen rep's open leads: a colleague's load for
    whoever owns the lead next (found in the end-to-end trial: "fewest open leads (52)")."""
    alice, bob = (Rep.objects.get(user__username=name) for name in ("alice", "bob"))
    lead = LeadFactory(owner=alice, status="assigned")
    reason = "Everyone else: fewest open leads (52) among 4 reps (skipped 1 ineligible) of US-WEST"
    trace = {"outcome": "assigned", "reason": reason, "rules": []}
    Assignment.objects.create(lead=lead, rep=bob, kind="auto", reason=reason, trace=trace)
    LeadActivity.objects.create(lead=lead, kind="assigned", note=reason, data={"trace": trace})
    client = _client(alice.user)
    assignments = client.get(f"/api/leads/{lead.pk}/assignments/")
    activity = client.get(f"/api/leads/{lead.pk}/activity/")
    for response in (assignments, activity):
        assert response.status_code == 200
        assert "(52)" not in response.content.decode()
    row = assignments.json()["results"][0]
    assert row["reason"] == (
        "Everyone else: fewest open leads among 4 reps (skipped 1 ineligible) of US-WEST"
    )
    assert row["trace"]["reason"] == row["reason"]
    assert activity.json()["results"][-1]["note"] == row["reason"]
    # Managers read the record as it was written.
    full = manager_client.get(f"/api/leads/{lead.pk}/assignments/").json()["results"][0]
    assert full["reason"] == reason


# --- time-off reasons are codes ------------------------------------------------------------------

PERIOD = {"starts_at": "2026-12-21T00:00:00Z", "ends_at": "2027-01-04T00:00:00Z"}


def test_time_off_takes_a_code_and_a_private_note(west_org, manager_client):
    alice = _client(west_org["reps"][0].user)
    created = alice.post(
        "/api/time-off/", {**PERIOD, "reason": "parental", "note": "back in January"}, format="json"
    )
    assert created.status_code == 201, created.content
    assert created.json()["reason"] == "parental"
    assert created.json()["note"] == "back in January"
    bad = alice.post(
        "/api/time-off/",
        {"starts_at": "2027-02-01T00:00:00Z", "ends_at": "2027-02-02T00:00:00Z", "reason": "trip"},
        format="json",
    )
    assert bad.status_code == 400
    assert list(bad.json()) == ["reason"]
    assert "'trip' is not a time-off reason; use one of: vacation, sick" in bad.json()["reason"][0]
    # The note stays with managers and the rep: not in the configuration document.
    document = manager_client.get("/api/routing/config/").json()
    assert document["reps"][0]["time_off"] == [{**PERIOD, "reason": "parental"}]
    assert "back in January" not in json.dumps(document)


def test_config_document_refuses_free_text_reasons_by_path(west_org, manager_client):
    document = manager_client.get("/api/routing/config/").json()
    document["reps"][0]["time_off"] = [{**PERIOD, "reason": "medical leave"}]
    response = manager_client.put("/api/routing/config/", document, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "reps": {
            "0": {
                "time_off": {
                    "0": {
                        "reason": [
                            "'medical leave' is not a time-off reason; use one of: vacation, "
                            "sick, parental, training, public_holiday, other."
                        ]
                    }
                }
            }
        }
    }
    document["reps"][0]["time_off"] = [{**PERIOD, "reason": "vacation"}]
    assert manager_client.put("/api/routing/config/", document, format="json").status_code == 200


@pytest.mark.parametrize(
    ("text", "code", "note"),
    [
        ("vacation", "vacation", ""),
        ("", "other", ""),
        ("Medical leave (knee)", "sick", "Medical leave (knee)"),
        ("flu", "sick", "flu"),
        ("Bank holiday", "public_holiday", "Bank holiday"),
        ("holiday", "vacation", "holiday"),
        ("maternity leave", "parental", "maternity leave"),
        ("sales training", "training", "sales training"),
        ("moving house", "other", "moving house"),
    ],
)
def test_migration_maps_free_text_to_codes_and_keeps_it_as_the_note(text, code, note):
    migration = importlib.import_module("apps.reps.migrations.0004_time_off_reason_codes")
    assert migration.reason_code(text) == (code, note)
