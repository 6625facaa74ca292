"""The managers' queue: why each lead waits, filters, bulk reroute, reassign; the team view."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.leads.models import LeadActivity, LeadActivityKind, LeadStatus
from tests.factories import LeadFactory, RepFactory, TimeOffFactory, UserFactory
from tests.portal.conftest import csrf_post, lead_of

pytestmark = pytest.mark.django_db


def _unrouted(why: str = "No rule matched this lead.", **fields):  # type: ignore[no-untyped-def]
    lead = LeadFactory(status="unrouted", **fields)
    LeadActivity.objects.create(lead=lead, kind=LeadActivityKind.UNROUTED, note=why)
    return lead


def _ids(body: str, *leads) -> set[int]:  # type: ignore[no-untyped-def]
    return {lead.pk for lead in leads if f'id="lead-{lead.pk}"' in body}


def test_lists_unrouted_and_escalated_with_the_reason(rita, boss_client) -> None:
    waiting = _unrouted("Everyone else: no eligible rep in FR.", company="Nomad")
    escalated = lead_of(rita, escalated_at=timezone.now(), reassignment_count=2)
    LeadActivity.objects.create(
        lead=escalated, kind=LeadActivityKind.ESCALATED, note="Untouched after 2 moves: escalated."
    )
    fine = lead_of(rita)
    closed = LeadFactory(status="converted", owner=rita, escalated_at=timezone.now())
    body = boss_client.get("/queue/unrouted/").content.decode()
    assert _ids(body, waiting, escalated, fine, closed) == {waiting.pk, escalated.pk}
    assert "Everyone else: no eligible rep in FR." in body
    assert "Untouched after 2 moves: escalated." in body
    assert "2 leads wait" in body


def test_filters(rita, boss_client) -> None:
    a = _unrouted(company="Acme", lead_source="ads")
    b = _unrouted(company="Globex", lead_source="webinar")
    c = lead_of(rita, escalated_at=timezone.now())

    def shown(**params: str) -> set[int]:
        return _ids(boss_client.get("/queue/unrouted/", params).content.decode(), a, b, c)

    assert shown(escalated="true") == {c.pk}
    assert shown(status="unrouted") == {a.pk, b.pk}
    assert shown(search="globex") == {b.pk}
    assert shown(lead_source="ads") == {a.pk}
    response = boss_client.get("/queue/unrouted/", {"escalated": "maybe", "page": "99"})
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()


def test_bulk_reroute_places_what_it_can_and_says_why_not(west_org, boss_client) -> None:
    placeable = _unrouted(country="US", region="US-CA")
    nowhere = _unrouted(country="FR")
    response = csrf_post(
        boss_client,
        "/queue/unrouted/reroute/",
        {"leads": [placeable.pk, nowhere.pk], "next": "/queue/unrouted/"},
    )
    assert response["Location"] == "/queue/unrouted/"
    placeable.refresh_from_db()
    nowhere.refresh_from_db()
    assert placeable.status == LeadStatus.ASSIGNED
    assert nowhere.status == LeadStatus.UNROUTED
    body = boss_client.get("/queue/unrouted/").content.decode()
    assert "1 lead rerouted." in body
    assert f"Lead #{nowhere.pk} stays: Rerouting found no eligible rep" in body


def test_bulk_reroute_leaves_a_lead_placed_meanwhile_alone(rita, boss_client) -> None:
    placed = lead_of(rita)  # another manager reassigned it after this page was drawn
    csrf_post(boss_client, "/queue/unrouted/reroute/", {"leads": [placed.pk]})
    placed.refresh_from_db()
    assert placed.owner_id == rita.pk
    assert "no longer waited here" in boss_client.get("/queue/unrouted/").content.decode()


@pytest.mark.parametrize("leads", [[], ["abc"], ["1" * 30], [str(n) for n in range(501)]])
def test_bulk_reroute_bad_input_is_a_message(boss_client, leads) -> None:
    response = csrf_post(boss_client, "/queue/unrouted/reroute/", {"leads": leads})
    assert response.status_code == 302
    page = boss_client.get(response["Location"]).content.decode()
    assert 'class="message error"' in page


def test_reassign_from_the_queue(rita, boss, boss_client) -> None:
    lead = _unrouted()
    response = csrf_post(
        boss_client,
        f"/queue/leads/{lead.pk}/reassign/",
        {"rep": "rita", "note": "Speaks French", "next": "/queue/unrouted/"},
    )
    assert response["Location"] == "/queue/unrouted/"
    lead.refresh_from_db()
    assert lead.owner_id == rita.pk
    assert lead.assignments.get().reason == "Reassigned by boss to rita: Speaks French"
    assert f'id="lead-{lead.pk}"' not in boss_client.get("/queue/unrouted/").content.decode()


def test_team_view_names_who_takes_no_leads_now(rita, otto, boss_client) -> None:
    now = timezone.now()
    rita.away = True
    rita.save()
    TimeOffFactory(
        rep=otto, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(days=2), reason="sick"
    )
    full = RepFactory(
        user=UserFactory(username="fiona", first_name="Fiona", last_name="Full"),
        max_open_leads=2,
        open_leads_count=2,
    )
    RepFactory(user=UserFactory(username="free", first_name="Free", last_name="Rep"))
    RepFactory(
        user=UserFactory(username="gone", first_name="Gone", last_name="Rep"),
        active=False,
        away=True,
    )
    body = boss_client.get("/queue/unrouted/").content.decode()
    team = body[
        body.index("Team right now") : body.index("</section>", body.index("Team right now"))
    ]
    assert "<strong>1 of 4</strong>" in team
    assert rita.name in team and "away" in team
    assert otto.name in team and "sick leave" in team
    assert full.name in team and "2 of 2 open leads" in team
    assert "Free Rep" not in team and "Gone Rep" not in team


def test_page_queries_do_not_grow_with_the_leads_or_the_team(rita, otto, boss_client) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert boss_client.get("/queue/unrouted/").status_code == 200
        return len(captured)

    _unrouted()
    queries()  # the role lookups are cached after the first request
    few = queries()
    for n in range(10):
        _unrouted(company=f"Co {n}")
        lead_of(rita, escalated_at=timezone.now())
        RepFactory(away=True)
    assert queries() == few
