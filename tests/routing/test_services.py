"""Routing services against the database: assignment, dedup, unrouted, reassign, reroute."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.core.models import ImmutableRecordError
from apps.leads.models import Lead, LeadStatus
from apps.reps.models import Rep
from apps.routing.models import Assignment, RotationState
from apps.routing.services import (
    RoutingError,
    lead_contact,
    lead_convert,
    lead_reassign,
    lead_reroute,
    lead_route,
)
from tests.factories import LeadFactory, TimeOffFactory

pytestmark = pytest.mark.django_db


def enterprise_lead(**kwargs):  # type: ignore[no-untyped-def]
    return LeadFactory(company_size=5000, country="US", region="US-CA", **kwargs)


def test_enterprise_lead_goes_round_robin_with_reason_and_trace(west_org):
    lead = enterprise_lead()
    result = lead_route(lead_id=lead.pk)

    lead.refresh_from_db()
    assert result.outcome == "assigned"
    assert lead.status == LeadStatus.ASSIGNED
    assert lead.owner.username == "alice"
    assert lead.rule == west_org["enterprise"]
    assert lead.territory == west_org["west"]
    assert lead.sla_due_at == lead.assigned_at + timedelta(minutes=30)
    assignment = lead.assignments.get()
    assert assignment.kind == "auto"
    assert assignment.strategy == "round_robin"
    assert assignment.reason.startswith("Enterprise West: round robin")
    assert "US-WEST" in assignment.reason
    rule_entry = assignment.trace["rules"][-1]
    assert rule_entry["rule"] == "Enterprise West"
    assert rule_entry["chosen"] == "alice"
    assert assignment.trace["outcome"] == "assigned"


def test_round_robin_rotates_exactly_and_skips_reps_on_time_off(west_org):
    now = timezone.now()
    bob = Rep.objects.get(user__username="bob")
    TimeOffFactory(
        rep=bob,
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=3),
        reason="vacation",
    )
    owners = []
    for _ in range(6):
        lead = enterprise_lead()
        lead_route(lead_id=lead.pk, now=now)
        lead.refresh_from_db()
        owners.append(lead.owner.username)
    assert owners == ["alice", "carol"] * 3
    trace = Assignment.objects.filter(rep__user__username="carol").first().trace
    bob_entry = next(c for c in trace["rules"][-1]["candidates"] if c["rep"] == "bob")
    assert bob_entry["eligible"] is False
    assert "time off" in bob_entry["why"]
    assert RotationState.objects.get(rule=west_org["enterprise"]).assignments == 6


def test_routing_twice_is_a_noop(west_org):
    lead = enterprise_lead()
    assert lead_route(lead_id=lead.pk).outcome == "assigned"
    assert lead_route(lead_id=lead.pk).outcome == "noop"
    assert Assignment.objects.filter(lead=lead).count() == 1
    assert Rep.objects.get(user__username="alice").open_leads_count == 1


def test_duplicate_email_follows_the_open_lead_and_takes_no_turn(west_org):
    first = enterprise_lead(email="dana@acme.com")
    lead_route(lead_id=first.pk)
    copy = enterprise_lead(email="dana@acme.com")
    result = lead_route(lead_id=copy.pk)
    copy.refresh_from_db()
    assert result.outcome == "duplicate"
    assert copy.status == LeadStatus.DUPLICATE
    assert copy.duplicate_of == first
    assert copy.owner.username == "alice"
    assert copy.assignments.get().kind == "duplicate"
    # The next real lead still goes to bob: the duplicate took no rotation turn.
    nxt = enterprise_lead()
    lead_route(lead_id=nxt.pk)
    nxt.refresh_from_db()
    assert nxt.owner.username == "bob"
    assert Rep.objects.get(user__username="alice").open_leads_count == 1


def test_copy_routed_before_its_original_routes_the_original_first(west_org):
    first = enterprise_lead(email="lee@acme.com")
    copy = enterprise_lead(email="lee@acme.com")
    lead_route(lead_id=copy.pk)
    first.refresh_from_db()
    copy.refresh_from_db()
    assert first.status == LeadStatus.ASSIGNED
    assert copy.status == LeadStatus.DUPLICATE
    assert copy.owner == first.owner


def test_no_eligible_rep_anywhere_is_unrouted_with_a_reason(west_org):
    Rep.objects.update(active=False)
    lead = enterprise_lead()
    result = lead_route(lead_id=lead.pk)
    lead.refresh_from_db()
    assert result.outcome == "unrouted"
    assert lead.status == LeadStatus.UNROUTED
    assert lead.owner is None
    activity = lead.activities.get(kind="unrouted")
    assert activity.note
    # Retried once someone is back: a `retry` assignment.
    Rep.objects.update(active=True)
    assert lead_route(lead_id=lead.pk).outcome == "assigned"
    assert lead.assignments.get().kind == "retry"


def test_capacity_is_respected_and_released_on_close(west_org):
    Rep.objects.update(max_open_leads=1)
    leads = [enterprise_lead() for _ in range(4)]
    outcomes = [lead_route(lead_id=lead.pk).outcome for lead in leads]
    assert outcomes[:3] == ["assigned"] * 3
    assert outcomes[3] == "unrouted"
    first = leads[0]
    first.refresh_from_db()
    lead_contact(lead_id=first.pk)
    lead_convert(lead_id=first.pk, reason="signed")
    assert Rep.objects.get(pk=first.owner_id).open_leads_count == 0
    assert lead_route(lead_id=leads[3].pk).outcome == "assigned"


def test_manual_reassign_needs_a_note_and_moves_the_load(west_org, manager_user):
    lead = enterprise_lead()
    lead_route(lead_id=lead.pk)
    carol = Rep.objects.get(user__username="carol")
    with pytest.raises(RoutingError):
        lead_reassign(lead_id=lead.pk, rep=carol, note=" ", actor=manager_user)
    assignment = lead_reassign(
        lead_id=lead.pk, rep=carol, note="Speaks Spanish", actor=manager_user
    )
    lead.refresh_from_db()
    assert lead.owner == carol
    assert assignment.kind == "manual"
    assert assignment.actor == manager_user
    assert "Speaks Spanish" in assignment.reason
    history = list(lead.assignments.order_by("assigned_at", "id"))
    assert history[0].ended_at is not None and history[1].ended_at is None
    assert Rep.objects.get(user__username="alice").open_leads_count == 0
    assert Rep.objects.get(user__username="carol").open_leads_count == 1


def test_reroute_runs_routing_again(west_org, manager_user):
    lead = enterprise_lead()
    lead_route(lead_id=lead.pk)
    result = lead_reroute(lead_id=lead.pk, actor=manager_user)
    lead.refresh_from_db()
    assert result.outcome == "assigned"
    assert lead.owner.username == "bob"
    assert lead.assignments.count() == 2
    lead_contact(lead_id=lead.pk)
    lead_convert(lead_id=lead.pk)
    with pytest.raises(RoutingError):
        lead_reroute(lead_id=lead.pk, actor=manager_user)


def test_assignments_cannot_be_edited_or_deleted(west_org):
    lead = enterprise_lead()
    assignment = lead_route(lead_id=lead.pk).assignment
    assignment.reason = "tampered"
    with pytest.raises(ImmutableRecordError):
        assignment.save()
    with pytest.raises(ImmutableRecordError):
        assignment.delete()
    with pytest.raises(ImmutableRecordError):
        Assignment.objects.all().delete()


def test_load_balanced_spreads_the_catch_all_rule(west_org):
    counts: Counter[str] = Counter()
    for _ in range(9):
        lead = LeadFactory(company_size=10, country="US", region="US-WA")
        lead_route(lead_id=lead.pk)
        lead.refresh_from_db()
        counts[lead.owner.username] += 1
    assert counts == {"alice": 3, "bob": 3, "carol": 3}


def test_manual_reassign_mails_the_new_rep_and_the_previous_owner(
    west_org, manager_user, eager_tasks, django_capture_on_commit_callbacks, mailoutbox
):
    for rep in west_org["reps"]:
        rep.user.email = f"{rep.user.username}@example.com"
        rep.user.save()
    lead = enterprise_lead()
    with django_capture_on_commit_callbacks(execute=True):
        lead_route(lead_id=lead.pk)  # its own mail is sent here, not with the next change's
    mailoutbox.clear()
    carol = Rep.objects.get(user__username="carol")
    with django_capture_on_commit_callbacks(execute=True):
        lead_reassign(lead_id=lead.pk, rep=carol, note="Knows the account", actor=manager_user)
    recipients = sorted(address for message in mailoutbox for address in message.to)
    assert recipients == ["alice@example.com", "carol@example.com"]
    assert any("Knows the account" in message.body for message in mailoutbox)


def test_route_pending_command_routes_leads_left_new(west_org, settings):
    from io import StringIO

    from django.core.management import call_command

    settings.ROUTING_PENDING_GRACE = timedelta(0)
    leads = [enterprise_lead() for _ in range(3)]
    out = StringIO()
    call_command("route_pending", stdout=out)
    assert out.getvalue().strip() == "assigned: 3"
    assert all(Lead.objects.get(pk=lead.pk).status == "assigned" for lead in leads)
    out = StringIO()
    call_command("route_pending", stdout=out)
    assert out.getvalue().strip() == "Nothing pending."
