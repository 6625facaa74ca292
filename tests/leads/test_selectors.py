"""The reads behind the queue pages: a rep's queue, leads needing a manager, and why."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.leads.models import LeadActivity, LeadActivityKind
from apps.leads.selectors import lead_attention_reasons, lead_list_needing_manager, lead_queue_of
from apps.routing.models import Assignment, AssignmentKind
from apps.routing.selectors import lead_current_reasons, lead_held_by
from tests.factories import LeadFactory, RepFactory

pytestmark = pytest.mark.django_db


def test_queue_is_untouched_by_deadline_then_contacted() -> None:
    rep, other = RepFactory(), RepFactory()
    now = timezone.now()
    late = LeadFactory(owner=rep, status="assigned", sla_due_at=now + timedelta(hours=1))
    early = LeadFactory(owner=rep, status="assigned", sla_due_at=now - timedelta(hours=1))
    undated = LeadFactory(owner=rep, status="assigned", sla_due_at=None)
    touched = LeadFactory(owner=rep, status="contacted", sla_due_at=now - timedelta(days=1))
    LeadFactory(owner=rep, status="converted")
    LeadFactory(owner=other, status="assigned")
    assert list(lead_queue_of(rep=rep)) == [early, late, undated, touched]


def test_needing_manager_is_unrouted_or_escalated_and_open() -> None:
    rep = RepFactory()
    unrouted = LeadFactory(status="unrouted")
    escalated = LeadFactory(owner=rep, status="assigned", escalated_at=timezone.now())
    LeadFactory(owner=rep, status="assigned")
    LeadFactory(owner=rep, status="converted", escalated_at=timezone.now())
    assert set(lead_list_needing_manager()) == {unrouted, escalated}


def test_reasons_current_and_latest() -> None:
    rep, other = RepFactory(), RepFactory()
    lead = LeadFactory(owner=rep, status="assigned")
    then = timezone.now() - timedelta(hours=2)
    Assignment.objects.create(
        lead=lead,
        rep=other,
        kind=AssignmentKind.AUTO,
        reason="old",
        assigned_at=then,
        ended_at=then + timedelta(hours=1),
    )
    Assignment.objects.create(lead=lead, rep=rep, kind=AssignmentKind.MANUAL, reason="current")
    assert lead_current_reasons(lead_ids=[lead.pk]) == {lead.pk: "current"}
    assert lead_held_by(lead_id=lead.pk, rep=other) is True
    assert lead_held_by(lead_id=lead.pk, rep=RepFactory()) is False
    LeadActivity.objects.create(lead=lead, kind=LeadActivityKind.UNROUTED, note="first")
    LeadActivity.objects.create(
        lead=lead, kind=LeadActivityKind.ESCALATED, note="later", at=timezone.now() + timedelta(1)
    )
    assert lead_attention_reasons(lead_ids=[lead.pk])[lead.pk].note == "later"
