"""Deadline timers: the minute sweep arms one task per moment leads fall due before the next
tick, so a lead moves within ROUTING_SLA_PRECISION_SECONDS of its deadline, not up to a minute
late; the minute sweep stays the safety net."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.utils import timezone

from apps.leads.models import Lead, LeadStatus
from apps.routing import tasks
from apps.routing.models import Assignment, AssignmentKind
from apps.routing.services import lead_route
from apps.routing.sla_timers import sla_deadlines_ahead
from tests.factories import LeadFactory, RepFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 12, 0, 0, tzinfo=UTC)


def _due(seconds: float, *, base: datetime = NOW, **fields: object) -> Lead:
    lead = LeadFactory(status=LeadStatus.ASSIGNED, owner=RepFactory(), **fields)
    Lead.objects.filter(pk=lead.pk).update(
        assigned_at=base - timedelta(minutes=30), sla_due_at=base + timedelta(seconds=seconds)
    )
    return lead


def test_deadlines_ahead_are_rounded_up_to_the_precision_and_cover_one_tick(settings) -> None:
    settings.ROUTING_SLA_PRECISION_SECONDS = 5
    _due(10.2)
    _due(10.7)  # the same moment as the one before
    _due(33)
    _due(59.9)
    _due(61)  # the next tick's
    _due(-30)  # overdue already: the sweep that armed the timers has just moved it
    _due(20, escalated_at=NOW)  # escalated: stays with its owner for good
    lead = _due(25)
    Lead.objects.filter(pk=lead.pk).update(status=LeadStatus.CONTACTED)  # touched
    assert sla_deadlines_ahead(now=NOW) == [
        NOW + timedelta(seconds=10),  # a sweep as of :10 counts deadlines up to :11 as reached
        NOW + timedelta(seconds=35),
        NOW + timedelta(seconds=60),
    ]


def test_a_precision_of_one_second_gives_one_moment_per_second(settings) -> None:
    settings.ROUTING_SLA_PRECISION_SECONDS = 1
    _due(10.2)
    _due(10.7)
    _due(11.1)
    assert sla_deadlines_ahead(now=NOW) == [
        NOW + timedelta(seconds=10),
        NOW + timedelta(seconds=11),
    ]


def test_nothing_due_before_the_next_tick_arms_nothing() -> None:
    _due(120)
    assert sla_deadlines_ahead(now=NOW) == []
    with mock.patch.object(tasks.sla_deadline, "apply_async") as publish:
        assert tasks.sla_timers_arm(now=NOW) == 0
    publish.assert_not_called()


def test_the_minute_sweep_arms_one_timer_per_moment_with_its_eta(settings) -> None:
    settings.ROUTING_SLA_PRECISION_SECONDS = 5
    _due(12)
    _due(14)
    _due(40)
    with mock.patch.object(tasks.sla_deadline, "apply_async") as publish:
        assert tasks.sla_timers_arm(now=NOW) == 2
    moments = [NOW + timedelta(seconds=15), NOW + timedelta(seconds=40)]
    assert publish.call_args_list == [
        mock.call((m.isoformat(),), eta=m, retry=False) for m in moments
    ]


def test_a_timer_moves_the_lead_seconds_after_its_deadline(
    west_org, django_capture_on_commit_callbacks
) -> None:
    # alice has held the lead for its whole 30-minute window (west_org's rule); a timer that
    # fires two seconds after the deadline moves it to bob at once.
    lead = LeadFactory(company_size=5000, country="US", region="US-CA")
    assigned = timezone.now() - timedelta(minutes=30, seconds=2)
    with django_capture_on_commit_callbacks(execute=True):
        lead_route(lead_id=lead.pk, now=assigned)
    lead.refresh_from_db()
    assert lead.owner.username == "alice"
    assert lead.sla_due_at == assigned + timedelta(minutes=30)

    with django_capture_on_commit_callbacks(execute=True):
        counts = tasks.sla_deadline(lead.sla_due_at.isoformat())
    assert counts["reassigned"] == 1
    lead.refresh_from_db()
    assert lead.owner.username == "bob"
    move = Assignment.objects.get(lead=lead, kind=AssignmentKind.REASSIGN_INACTIVITY)
    assert (
        timedelta(0) < move.assigned_at - (assigned + timedelta(minutes=30)) < timedelta(minutes=1)
    )


def test_a_timer_that_fires_again_or_early_moves_nothing(
    west_org, django_capture_on_commit_callbacks
) -> None:
    lead = LeadFactory(company_size=5000, country="US", region="US-CA")
    with django_capture_on_commit_callbacks(execute=True):
        lead_route(lead_id=lead.pk, now=timezone.now() - timedelta(minutes=5))
    counts = tasks.sla_deadline(timezone.now().isoformat())  # not due for 25 minutes
    assert counts["reassigned"] == counts["escalated"] == 0
    lead.refresh_from_db()
    assert lead.owner.username == "alice"


def test_the_beat_sweep_reports_the_timers_it_armed(west_org) -> None:
    _due(30, base=timezone.now())
    with mock.patch.object(tasks.sla_deadline, "apply_async") as publish:
        counts = tasks.reassign_inactive()
    assert counts["timers"] == 1 == publish.call_count


def test_timers_run_on_the_sweeps_queue(settings) -> None:
    assert settings.CELERY_TASK_ROUTES["apps.routing.tasks.sla_deadline"] == {"queue": "sweeps"}
