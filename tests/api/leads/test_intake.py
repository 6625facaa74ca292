"""POST /api/leads/ and GET /api/leads/{id}/ as a web form, a CRM and a rep use them."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone
from kombu.exceptions import OperationalError
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from apps.leads.models import Lead
from apps.routing.tasks import route_lead, route_pending
from tests.factories import LeadFactory, RepFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/leads/"


def post(client, payload, capture):  # type: ignore[no-untyped-def]
    with mock.patch.object(route_lead, "apply_async") as send, capture(execute=True):
        response = client.post(URL, payload, format="json")
    return response, send


def test_intake_normalises_and_queues_routing(manager_client, django_capture_on_commit_callbacks):
    response, send = post(
        manager_client,
        {
            "email": " Dana@ACME.com ",
            "country": "United States",
            "region": "ca",
            "company_size": 1200,
            "annual_revenue": "2500000.00",
            "lead_score": 80,
            "language": "EN",
            "extra": {"campaign": "q4"},
        },
        django_capture_on_commit_callbacks,
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["email"] == "dana@acme.com"
    assert body["email_domain"] == "acme.com"
    assert body["country"] == "US"
    assert body["region"] == "US-CA"
    assert body["language"] == "en"
    assert body["status"] == "new"
    assert body["owner"] is None
    assert body["extra"] == {"campaign": "q4"}
    send.assert_called_once_with((body["id"],), retry=False)


def test_repeat_external_id_returns_the_same_lead_and_routes_nothing(
    manager_client, django_capture_on_commit_callbacks
):
    payload = {"external_id": "form-1", "email": "a@b.com"}
    first, send_first = post(manager_client, payload, django_capture_on_commit_callbacks)
    again, send_again = post(manager_client, payload, django_capture_on_commit_callbacks)
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert Lead.objects.count() == 1
    assert send_first.call_count == 1
    assert send_again.call_count == 0


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"email": "not-an-email"}, "email", "valid email"),
        ({}, "email", "required"),
        ({"email": "a@b.com", "country": "Atlantis"}, "country", "Unknown country"),
        ({"email": "a@b.com", "country": "US", "region": "ZZ"}, "region", "Unknown region"),
        ({"email": "a@b.com", "country": "US", "region": "DE-BY"}, "region", "not in country US"),
        ({"email": "a@b.com", "lead_score": 101}, "lead_score", "less than or equal to 100"),
        ({"email": "a@b.com", "company_size": -1}, "company_size", "greater than or equal to 0"),
        ({"email": "a@b.com", "company_size": "many"}, "company_size", "valid integer"),
        (
            {"email": "a@b.com", "annual_revenue": "-5"},
            "annual_revenue",
            "greater than or equal to 0",
        ),
        ({"email": "a@b.com", "language": "xx"}, "language", "ISO 639-1"),
        ({"email": "a@b.com", "extra": ["x"]}, "extra", "dictionary"),
        ({"email": "a@b.com", "external_id": "x" * 256}, "external_id", "no more than 255"),
        ({"email": "a@b.com", "company": "x" * 5000}, "company", "no more than 255"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(manager_client, payload, field, message):
    response = manager_client.post(URL, payload, format="json")
    assert response.status_code == 400
    errors = response.json()
    assert field in errors, errors
    assert any(message in text for text in errors[field]), errors
    assert Lead.objects.count() == 0


def test_future_created_at_is_refused(manager_client):
    future = (timezone.now() + timedelta(days=1)).isoformat()
    response = manager_client.post(URL, {"email": "a@b.com", "created_at": future}, format="json")
    assert response.status_code == 400
    assert response.json() == {"created_at": ["created_at cannot be in the future."]}


def test_malformed_json_is_a_400(manager_client):
    response = manager_client.generic("POST", URL, "{not json", content_type="application/json")
    assert response.status_code == 400


def test_broker_down_still_saves_the_lead_and_the_sweep_routes_it(
    manager_client, django_capture_on_commit_callbacks, west_org, settings
):
    with (
        mock.patch.object(route_lead, "apply_async", side_effect=OperationalError("down")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = manager_client.post(
            URL,
            {"email": "x@y.com", "country": "US", "region": "US-CA", "company_size": 5000},
            format="json",
        )
    assert response.status_code == 201
    lead = Lead.objects.get()
    assert lead.status == "new"
    settings.ROUTING_PENDING_GRACE = timedelta(0)
    assert route_pending() == {"assigned": 1}
    lead.refresh_from_db()
    assert lead.status == "assigned"


def test_roles_for_intake_and_detail():
    anonymous = APIClient()
    assert anonymous.post(URL, {"email": "a@b.com"}, format="json").status_code == 401

    rep = RepFactory(user=UserFactory(username="rita"))
    other = RepFactory(user=UserFactory(username="otto"))
    rep_client = APIClient()
    rep_client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=rep.user).key}")
    assert rep_client.post(URL, {"email": "a@b.com"}, format="json").status_code == 403

    mine = LeadFactory(owner=rep, status="assigned")
    theirs = LeadFactory(owner=other, status="assigned")
    assert rep_client.get(f"{URL}{mine.pk}/").json()["owner"] == "rita"
    assert rep_client.get(f"{URL}{theirs.pk}/").status_code == 404
    listing = rep_client.get(URL).json()
    assert [row["id"] for row in listing["results"]] == [mine.pk]


def test_end_to_end_intake_routes_the_lead(
    manager_client, django_capture_on_commit_callbacks, west_org, settings
):
    from routing_portal.celery import app

    app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = manager_client.post(
                URL,
                {"email": "big@corp.com", "country": "US", "region": "WA", "company_size": 2000},
                format="json",
            )
    finally:
        app.conf.task_always_eager = False
    detail = manager_client.get(f"{URL}{response.json()['id']}/").json()
    assert detail["status"] == "assigned"
    assert detail["owner"] == "alice"
    assert detail["rule"] == "Enterprise West"
    assert detail["territory"] == "US-WEST"


def test_valid_repeat_is_caught_by_the_unique_constraint_and_invalid_repeat_by_lookup(
    manager_client, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    payload = {"external_id": "crm-7", "email": "a@b.com", "country": "US"}
    first, _ = post(manager_client, payload, django_capture_on_commit_callbacks)
    assert first.status_code == 201
    # A changed but valid body: the insert hits the unique constraint, the first lead comes back.
    again, send = post(
        manager_client, {**payload, "company": "Other"}, django_capture_on_commit_callbacks
    )
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert send.call_count == 0
    # An invalid body with a known key is still the idempotent answer.
    broken = manager_client.post(URL, {"external_id": "crm-7", "email": "nope"}, format="json")
    assert broken.status_code == 200
    assert broken.json()["id"] == first.json()["id"]
    assert Lead.objects.count() == 1


def test_intake_queries(
    manager_client, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    post(manager_client, {"email": "warm@b.com"}, django_capture_on_commit_callbacks)
    # The INSERT in a savepoint (the test runs inside a transaction; in production it is one
    # autocommit statement): no read of external_id on the way in.
    with django_assert_max_num_queries(3):
        response, _ = post(
            manager_client,
            {"email": "a@b.com", "external_id": "x-1"},
            django_capture_on_commit_callbacks,
        )
    assert response.status_code == 201


# Idempotency keys are per submitting account -------------------------------------------------


def test_repeat_answers_only_id_and_status_never_the_lead(
    integration_client, django_capture_on_commit_callbacks
):
    payload = {"external_id": "form-9", "email": "dana@acme.com", "company": "Acme"}
    first, _ = post(integration_client, payload, django_capture_on_commit_callbacks)
    assert first.status_code == 201
    lead_id = first.json()["id"]
    # A valid repeat and a bare key both get the receipt, not the lead's contents.
    again, send = post(integration_client, payload, django_capture_on_commit_callbacks)
    bare, _ = post(
        integration_client, {"external_id": "form-9"}, django_capture_on_commit_callbacks
    )
    for response in (again, bare):
        assert response.status_code == 200
        assert response.json() == {"id": lead_id, "status": "new"}
    assert send.call_count == 0
    assert Lead.objects.count() == 1


def test_a_known_key_of_another_account_reveals_nothing(
    integration_client, manager_client, django_capture_on_commit_callbacks
):
    created, _ = post(
        manager_client,
        {"external_id": "crm-1", "email": "secret@acme.com"},
        django_capture_on_commit_callbacks,
    )
    assert created.status_code == 201
    probe, _ = post(
        integration_client, {"external_id": "crm-1"}, django_capture_on_commit_callbacks
    )
    assert probe.status_code == 400
    assert "email" in probe.json()
    assert "secret@acme.com" not in probe.content.decode()


def test_two_accounts_may_use_the_same_key_and_each_gets_its_own_lead(
    integration_client, manager_client, manager_user, django_capture_on_commit_callbacks
):
    payload = {"external_id": "42", "email": "a@b.com"}
    from_manager, _ = post(manager_client, payload, django_capture_on_commit_callbacks)
    from_form, send = post(integration_client, payload, django_capture_on_commit_callbacks)
    assert from_manager.status_code == 201
    assert from_form.status_code == 201
    assert from_form.json()["id"] != from_manager.json()["id"]
    assert send.call_count == 1  # the second account's lead is routed too
    # Each account's repeat finds its own lead.
    again, _ = post(integration_client, payload, django_capture_on_commit_callbacks)
    assert again.json()["id"] == from_form.json()["id"]
    assert Lead.objects.get(pk=from_manager.json()["id"]).submitted_by == manager_user
    # The external_id filter finds both for a manager.
    listed = manager_client.get(URL, {"external_id": "42"}).json()
    assert {row["id"] for row in listed["results"]} == {
        from_manager.json()["id"],
        from_form.json()["id"],
    }
