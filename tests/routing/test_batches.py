"""route_lead under a backlog: one task routes the waiting leads with its own, once each."""

from __future__ import annotations

import pytest
from django.core import mail

from apps.leads.models import Lead
from apps.routing.models import Assignment, RotationState
from apps.routing.tasks import route_lead
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def _waiting(n: int) -> list[Lead]:
    return [
        LeadFactory(email=f"w{i}@acme{i}.com", company_size=5000, country="US", region="US-CA")
        for i in range(n)
    ]


def _owners(leads: list[Lead]) -> list[str | None]:
    by_pk = {lead.pk: lead for lead in Lead.objects.select_related("owner__user")}
    return [by_pk[lead.pk].owner.username if by_pk[lead.pk].owner else None for lead in leads]


def test_a_task_routes_the_oldest_waiting_leads_with_its_own(west_org, settings):
    settings.ROUTING_BATCH_SIZE = 3
    leads = _waiting(5)
    # The newest lead's task: it takes the two oldest waiting leads along, in creation order.
    assert route_lead(leads[4].pk) == "assigned"
    assert _owners(leads) == ["alice", "bob", None, None, "carol"]
    # Their own tasks find them routed: no second assignment, no rotation turn.
    assert route_lead(leads[0].pk) == "noop"
    assert route_lead(leads[1].pk) == "noop"
    assert route_lead(leads[2].pk) == "assigned"
    assert _owners(leads) == ["alice", "bob", "alice", "bob", "carol"]
    assert Assignment.objects.count() == 5
    assert RotationState.objects.get(rule=west_org["enterprise"]).assignments == 5
    assert route_lead(10**9) == "missing"


def test_batch_size_one_routes_the_lead_alone(west_org, settings):
    settings.ROUTING_BATCH_SIZE = 1
    leads = _waiting(3)
    assert route_lead(leads[1].pk) == "assigned"
    assert _owners(leads) == [None, "alice", None]


def test_a_possible_duplicate_is_routed_alone_and_follows_its_original(west_org, settings):
    """A copy's original is locked before any rule or rep row, so copies never join a batch."""
    settings.ROUTING_BATCH_SIZE = 10
    original, other = _waiting(2)
    copy = LeadFactory(email=original.email, company_size=5000, country="US", region="US-CA")
    assert route_lead(copy.pk) == "duplicate"
    copy.refresh_from_db()
    assert copy.status == "duplicate" and copy.duplicate_of_id == original.pk
    assert _owners([original, other, copy]) == ["alice", None, "alice"]

    late_copy = LeadFactory(email=other.email, company_size=5000, country="US", region="US-CA")
    assert route_lead(other.pk) == "assigned"
    assert Lead.objects.get(pk=late_copy.pk).status == "new"  # not taken along
    assert route_lead(late_copy.pk) == "duplicate"
    assert _owners([other, late_copy]) == ["bob", "bob"]
    # The copies took no turn: the next enterprise lead goes to carol.
    nxt = LeadFactory(email="next@acme.com", company_size=5000, country="US", region="US-CA")
    assert route_lead(nxt.pk) == "assigned"
    assert _owners([nxt]) == ["carol"]


def test_a_limit_lowered_after_the_config_was_compiled_is_respected(west_org, settings):
    """The configuration is cached for ROUTING_CONFIG_RECHECK_SECONDS; the locked rep rows'
    stored limits win over it."""
    from apps.reps.models import Rep
    from apps.routing.selectors import config_current

    settings.ROUTING_BATCH_SIZE = 10
    settings.ROUTING_CONFIG_RECHECK_SECONDS = 3600
    config_current()  # compiled and cached: alice without a limit
    Rep.objects.filter(user__username="alice").update(max_open_leads=1)
    leads = _waiting(4)
    route_lead(leads[0].pk)
    assert _owners(leads) == ["alice", "bob", "carol", "bob"]
    assert Rep.objects.get(user__username="alice").open_leads_count == 1


def test_a_batch_mails_each_rep_once_per_lead(
    west_org, settings, eager_tasks, django_capture_on_commit_callbacks
):
    settings.ROUTING_BATCH_SIZE = 10
    leads = _waiting(3)
    with django_capture_on_commit_callbacks(execute=True):
        route_lead(leads[0].pk)
    assert sorted(m.to[0] for m in mail.outbox) == [
        "alice@example.com",
        "bob@example.com",
        "carol@example.com",
    ]
