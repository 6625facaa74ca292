"""The rep's queue: their open leads by SLA deadline, in their zone, filtered, with why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.leads.models import LeadStatus
from apps.routing.models import Assignment, AssignmentKind
from tests.factories import TerritoryFactory
from tests.portal.conftest import lead_of

pytestmark = pytest.mark.django_db


def _order(body: str, *leads) -> list[int]:  # type: ignore[no-untyped-def]
    return sorted((body.index(f'id="lead-{lead.pk}"'), lead.pk) for lead in leads)


def test_open_leads_by_deadline_untouched_first_closed_left_out(rita, rita_client) -> None:
    now = timezone.now()
    later = lead_of(rita, sla_due_at=now + timedelta(hours=2))
    overdue = lead_of(rita, sla_due_at=now - timedelta(minutes=5))
    soon = lead_of(rita, sla_due_at=now + timedelta(minutes=10))
    contacted = lead_of(
        rita, status="contacted", first_contacted_at=now, sla_due_at=now - timedelta(hours=9)
    )
    closed = lead_of(rita, status="converted")
    body = rita_client.get("/queue/").content.decode()
    assert [pk for _, pk in _order(body, later, overdue, soon, contacted)] == [
        overdue.pk,
        soon.pk,
        later.pk,
        contacted.pk,
    ]
    assert f'id="lead-{closed.pk}"' not in body
    assert "4 open leads" in body


def test_overdue_lead_is_highlighted_and_counts_down(rita, rita_client) -> None:
    lead_of(rita, sla_due_at=timezone.now() - timedelta(minutes=65))
    body = rita_client.get("/queue/").content.decode()
    assert "is-overdue" in body
    assert "overdue by 1 h 5 min" in body
    assert "data-due=" in body  # the script keeps it current


def test_times_are_in_the_reps_own_zone(rita, rita_client) -> None:
    # 17:30 UTC on a January day is 09:30 in Los Angeles (UTC-8).
    lead_of(rita, sla_due_at=datetime(2031, 1, 15, 17, 30, tzinfo=UTC))
    body = rita_client.get("/queue/").content.decode()
    assert "first contact by Wed 15 Jan, 09:30" in body
    assert 'data-due="2031-01-15T09:30:00-08:00"' in body
    assert "America/Los_Angeles" in body


def test_why_line_comes_from_the_current_assignment_redacted_for_the_rep(rita, rita_client) -> None:
    lead = lead_of(rita)
    Assignment.objects.create(
        lead=lead,
        rep=rita,
        kind=AssignmentKind.AUTO,
        strategy="load_balanced",
        rule_name="Everyone else",
        reason="Everyone else: fewest open leads (52) among 4 eligible reps of US-WEST",
    )
    body = rita_client.get("/queue/").content.decode()
    assert "Why you got this lead:" in body
    assert "fewest open leads among 4 eligible reps of US-WEST" in body
    assert "(52)" not in body


def test_filters_by_status_source_territory_and_search(rita, rita_client) -> None:
    west = TerritoryFactory(code="US-WEST")
    webinar = lead_of(rita, lead_source="webinar", company="Acme")
    contacted = lead_of(rita, status="contacted", lead_source="ads", territory=west)
    other = lead_of(rita, lead_source="ads", company="Globex")

    def shown(**params: str) -> set[int]:
        body = rita_client.get("/queue/", params).content.decode()
        return {lead.pk for lead in (webinar, contacted, other) if f'id="lead-{lead.pk}"' in body}

    assert shown() == {webinar.pk, contacted.pk, other.pk}
    assert shown(status="contacted") == {contacted.pk}
    assert shown(lead_source="WEBINAR") == {webinar.pk}
    assert shown(territory="US-WEST") == {contacted.pk}
    assert shown(search="globex") == {other.pk}
    body = rita_client.get("/queue/").content.decode()
    assert '<option value="webinar"' in body and '<option value="US-WEST"' in body


def test_bad_filters_are_explained_not_a_crash(rita, rita_client) -> None:
    lead_of(rita)
    response = rita_client.get("/queue/", {"status": "bogus", "page": "x", "created_after": "soon"})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()


def test_empty_queue_says_so(rita, rita_client) -> None:
    assert "Your queue is empty" in rita_client.get("/queue/").content.decode()


def test_away_rep_is_reminded_on_the_queue(rita, rita_client) -> None:
    rita.away = True
    rita.save()
    assert "You are away" in rita_client.get("/queue/").content.decode()


def test_queue_queries_do_not_grow_with_the_leads(rita, rita_client) -> None:
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert rita_client.get("/queue/").status_code == 200
        return len(captured)

    lead_of(rita)
    queries()  # the role lookups are cached after the first request
    few = queries()
    for _ in range(12):
        lead = lead_of(rita, status=LeadStatus.ASSIGNED)
        Assignment.objects.create(lead=lead, rep=rita, kind=AssignmentKind.AUTO, reason="r")
    assert queries() == few
