"""`leads_reroute`: the managers' bulk reroute, each lead on its own."""

from __future__ import annotations

import pytest

from apps.leads.models import LeadStatus
from apps.routing.services import leads_reroute
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def test_places_what_it_can_and_says_why_not(west_org, manager_user) -> None:
    placeable = LeadFactory(status="unrouted", country="US", region="US-CA")
    nowhere = LeadFactory(status="unrouted", country="FR")
    closed = LeadFactory(status="converted")
    outcomes = leads_reroute(
        lead_ids=[nowhere.pk, placeable.pk, closed.pk, 999_999], actor=manager_user
    )
    assert outcomes[placeable.pk].outcome == "assigned"
    assert outcomes[nowhere.pk].startswith("Rerouting found no eligible rep")
    assert outcomes[closed.pk] == "A converted lead cannot be rerouted."
    assert outcomes[999_999] == "This lead no longer exists."
    placeable.refresh_from_db()
    nowhere.refresh_from_db()
    assert placeable.status == LeadStatus.ASSIGNED  # not undone by the others' failures
    assert nowhere.status == LeadStatus.UNROUTED
