"""Database outage at the API (503, nothing half-written) and the intake rate limit (429)."""

from __future__ import annotations

from unittest import mock

import pytest
from django.core.cache import cache
from django.db import OperationalError, connection
from rest_framework.throttling import ScopedRateThrottle

from apps.leads.models import Lead
from apps.routing.tasks import route_lead
from tests.factories import LeadFactory, RepFactory

pytestmark = pytest.mark.django_db

URL = "/api/leads/"


def database_down():  # type: ignore[no-untyped-def]
    return mock.patch.object(
        connection, "cursor", side_effect=OperationalError("could not connect to server")
    )


@pytest.mark.parametrize(
    ("method", "path", "payload"),
    [
        ("get", "", None),
        ("post", "", {"email": "a@b.com"}),
        ("get", "{id}/", None),
        ("get", "{id}/assignments/", None),
        ("get", "{id}/activity/", None),
        ("post", "{id}/contact/", {}),
        ("post", "{id}/convert/", {"reason": "x"}),
    ],
)
def test_database_down_is_503_not_500(manager_client, method, path, payload):
    lead = LeadFactory(owner=RepFactory(), status="assigned")
    with database_down(), mock.patch.object(route_lead, "apply_async") as send:
        response = getattr(manager_client, method)(
            URL + path.format(id=lead.pk), payload, format="json"
        )
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "database is unavailable" in response.json()["detail"]
    send.assert_not_called()
    assert Lead.objects.count() == 1
    assert Lead.objects.get().status == "assigned"


def test_database_down_with_token_auth_is_503(rita_client):
    with database_down():
        response = rita_client.get(URL)
    assert response.status_code == 503


@pytest.fixture
def tiny_intake_rate():  # type: ignore[no-untyped-def]
    # DRF binds the rates when the throttle class is imported, so overriding settings is not enough.
    cache.clear()
    with mock.patch.dict(ScopedRateThrottle.THROTTLE_RATES, {"intake": "3/min"}):
        yield
    cache.clear()


def test_intake_over_the_rate_is_429(
    manager_client, tiny_intake_rate, django_capture_on_commit_callbacks
):
    with (
        mock.patch.object(route_lead, "apply_async"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        codes = [
            manager_client.post(URL, {"email": f"l{i}@b.com"}, format="json").status_code
            for i in range(5)
        ]
    assert codes == [201, 201, 201, 429, 429]
    assert Lead.objects.count() == 3
    refused = manager_client.post(URL, {"email": "x@b.com"}, format="json")
    assert "Retry-After" in refused
    # Reads are not throttled by the intake scope.
    assert manager_client.get(URL).status_code == 200
