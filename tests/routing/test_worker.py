"""A real Celery worker on Redis routes what the API takes in, once."""

from __future__ import annotations

import time

import pytest

from apps.leads.models import Lead
from apps.routing.models import Assignment
from apps.routing.tasks import route_lead
from tests.factories import LeadFactory


def wait_for(predicate, timeout: float = 30.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_worker_routes_posted_leads_and_a_task_delivered_twice_assigns_once(
    west_org, manager_client, live_worker
):
    with live_worker("routing"):
        response = manager_client.post(
            "/api/leads/",
            {"email": "ops@bigco.com", "country": "US", "region": "CA", "company_size": 4000},
            format="json",
        )
        assert response.status_code == 201
        lead_id = response.json()["id"]
        assert wait_for(lambda: Lead.objects.get(pk=lead_id).status == "assigned")
        lead = Lead.objects.get(pk=lead_id)
        assert lead.owner.username == "alice"

        twice = LeadFactory(company_size=4000, country="US", region="US-CA")
        route_lead.delay(twice.pk)
        route_lead.delay(twice.pk)
        assert wait_for(lambda: Lead.objects.get(pk=twice.pk).status == "assigned")
        time.sleep(0.5)  # let the second delivery finish too
    assert Assignment.objects.filter(lead=twice).count() == 1
    assert Assignment.objects.count() == 2
