"""Actions on a lead from the pages: with the script (JSON answers) and without (redirects),
conflicts in words, bad input as form errors; the lead page with its history."""

from __future__ import annotations

import json

import pytest

from apps.leads.models import LeadActivity, LeadActivityKind, LeadStatus
from apps.routing.services import lead_reassign
from tests.factories import LeadFactory
from tests.portal.conftest import csrf_post, lead_of

pytestmark = pytest.mark.django_db

JS = {"HTTP_X_PORTAL_FRAGMENT": "1"}


def _json(response):  # type: ignore[no-untyped-def]
    return json.loads(response.content)


def _handed(lead, rep, boss, note="start"):  # type: ignore[no-untyped-def]
    lead_reassign(lead_id=lead.pk, rep=rep, note=note, actor=boss)
    lead.refresh_from_db()
    return lead


def test_log_contact_in_place(rita, rita_client) -> None:
    lead = lead_of(rita)
    response = csrf_post(
        rita_client,
        f"/queue/leads/{lead.pk}/contact/",
        {f"c{lead.pk}-note": "Left a voicemail"},
        **JS,
    )
    answer = _json(response)
    assert response.status_code == 200 and answer["ok"] is True
    assert answer["message"] == "Contact logged." and answer["remove"] is False
    assert f'id="lead-{lead.pk}"' in answer["html"] and "Contacted" in answer["html"]
    assert "Add a note" in answer["html"] and "data-async" in answer["html"]
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONTACTED and lead.first_contacted_at is not None
    activity = LeadActivity.objects.get(lead=lead, kind=LeadActivityKind.CONTACTED)
    assert activity.note == "Left a voicemail" and activity.actor == rita.user


def test_a_second_contact_is_a_note(rita, rita_client) -> None:
    lead = lead_of(rita, status="contacted")
    csrf_post(
        rita_client, f"/queue/leads/{lead.pk}/contact/", {f"c{lead.pk}-note": "Sent pricing"}, **JS
    )
    assert LeadActivity.objects.filter(
        lead=lead, kind=LeadActivityKind.NOTE, note="Sent pricing"
    ).exists()


def test_actions_without_the_script_redirect_back_with_a_message(rita, rita_client) -> None:
    lead = lead_of(rita)
    response = csrf_post(
        rita_client, f"/queue/leads/{lead.pk}/contact/", {"next": "/queue/?status=assigned"}
    )
    assert response.status_code == 302 and response["Location"] == "/queue/?status=assigned"
    assert "Contact logged." in rita_client.get(response["Location"]).content.decode()
    # A foreign `next` is not followed.
    response = csrf_post(
        rita_client, f"/queue/leads/{lead.pk}/contact/", {"next": "https://evil.example/"}
    )
    assert response["Location"] == f"/queue/leads/{lead.pk}/"


def test_convert_removes_the_card(rita, rita_client) -> None:
    lead = lead_of(rita)
    answer = _json(
        csrf_post(
            rita_client, f"/queue/leads/{lead.pk}/convert/", {f"v{lead.pk}-reason": "signed"}, **JS
        )
    )
    assert answer["ok"] is True and answer["remove"] is True
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONVERTED


def test_disqualify_needs_a_reason(rita, rita_client) -> None:
    lead = lead_of(rita)
    response = csrf_post(
        rita_client, f"/queue/leads/{lead.pk}/disqualify/", {f"d{lead.pk}-reason": "  "}, **JS
    )
    assert response.status_code == 400
    assert _json(response)["errors"] == {"reason": ["Say why the lead is disqualified."]}
    # Without the script: the lead page again, with the error beside the field.
    response = csrf_post(rita_client, f"/queue/leads/{lead.pk}/disqualify/", {})
    assert response.status_code == 400
    assert "Say why the lead is disqualified." in response.content.decode()
    lead.refresh_from_db()
    assert lead.status == LeadStatus.ASSIGNED
    answer = _json(
        csrf_post(
            rita_client,
            f"/queue/leads/{lead.pk}/disqualify/",
            {f"d{lead.pk}-reason": "no budget"},
            **JS,
        )
    )
    assert answer["ok"] is True
    lead.refresh_from_db()
    assert lead.status == LeadStatus.DISQUALIFIED


def test_overlong_input_is_a_form_error(rita, rita_client) -> None:
    lead = lead_of(rita)
    response = csrf_post(
        rita_client, f"/queue/leads/{lead.pk}/contact/", {f"c{lead.pk}-note": "x" * 10_001}, **JS
    )
    assert response.status_code == 400 and "note" in _json(response)["errors"]


def test_lead_moved_a_moment_ago_is_said_plainly(rita, otto, boss, rita_client) -> None:
    lead = _handed(LeadFactory(status="unrouted"), rita, boss)
    assert rita_client.get(f"/queue/leads/{lead.pk}/").status_code == 200
    _handed(lead, otto, boss, note="rita is out")  # a manager moves it while rita looks at it
    response = csrf_post(rita_client, f"/queue/leads/{lead.pk}/contact/", {}, **JS)
    assert response.status_code == 409
    answer = _json(response)
    assert "moved to another rep a moment ago" in answer["message"] and answer["remove"] is True
    # Without the script: back to the queue, with the same sentence.
    response = csrf_post(rita_client, f"/queue/leads/{lead.pk}/convert/", {})
    assert response["Location"] == "/queue/"
    assert "moved to another rep a moment ago" in rita_client.get("/queue/").content.decode()
    page = rita_client.get(f"/queue/leads/{lead.pk}/")
    assert page.status_code == 404 and "moved to another rep" in page.content.decode()
    lead.refresh_from_db()
    assert lead.owner_id == otto.pk and lead.status == LeadStatus.ASSIGNED


def test_an_action_that_does_not_fit_the_state_is_a_conflict(rita, rita_client) -> None:
    lead = lead_of(rita, status="converted")
    response = csrf_post(
        rita_client, f"/queue/leads/{lead.pk}/disqualify/", {f"d{lead.pk}-reason": "x"}, **JS
    )
    assert response.status_code == 409
    assert _json(response)["message"] == "A converted lead cannot be disqualified."
    response = csrf_post(rita_client, f"/queue/leads/{lead.pk}/contact/", {})
    assert response.status_code == 302
    assert "cannot be marked contacted" in rita_client.get(response["Location"]).content.decode()


def test_lead_page_shows_facts_why_and_history(rita, boss, rita_client) -> None:
    lead = _handed(
        LeadFactory(status="unrouted", company="Acme", phone="+1 555 0100"),
        rita,
        boss,
        note="covering the west",
    )
    csrf_post(
        rita_client, f"/queue/leads/{lead.pk}/contact/", {f"c{lead.pk}-note": "Called, interested"}
    )
    body = rita_client.get(f"/queue/leads/{lead.pk}/").content.decode()
    assert "Acme" in body and 'href="tel:+1 555 0100"' in body
    assert "Reassigned by boss to rita: covering the west" in body
    assert "Called, interested" in body and "Contacted" in body
    assert "Reassign to" not in body  # managers' tools are not shown to a rep


def test_closed_lead_page_offers_no_actions(rita, rita_client) -> None:
    lead = lead_of(rita, status="converted")
    body = rita_client.get(f"/queue/leads/{lead.pk}/").content.decode()
    assert f"/queue/leads/{lead.pk}/convert/" not in body


def test_manager_reassigns_with_a_note(rita, otto, boss, boss_client) -> None:
    lead = LeadFactory(status="unrouted")
    url = f"/queue/leads/{lead.pk}/reassign/"
    response = csrf_post(boss_client, url, {"rep": "otto", "note": " "}, **JS)
    assert response.status_code == 400 and _json(response)["errors"]["note"]
    response = csrf_post(boss_client, url, {"rep": "nobody", "note": "x"}, **JS)
    assert _json(response)["errors"] == {"rep": ["No rep is called 'nobody'."]}
    otto.active = False
    otto.save()
    assert (
        "inactive"
        in _json(csrf_post(boss_client, url, {"rep": "otto", "note": "x"}, **JS))["errors"]["rep"][
            0
        ]
    )
    answer = _json(csrf_post(boss_client, url, {"rep": "rita", "note": "rita knows them"}, **JS))
    assert answer["ok"] is True and "Reassigned to" in answer["message"]
    lead.refresh_from_db()
    assert lead.owner_id == rita.pk and lead.status == LeadStatus.ASSIGNED
    response = csrf_post(boss_client, url, {"rep": "rita", "note": "again"}, **JS)
    assert response.status_code == 409 and "already belongs to rita" in _json(response)["message"]
    # Without the script, a bad form shows the lead page with the errors.
    response = csrf_post(boss_client, url, {"rep": "", "note": ""})
    assert response.status_code == 400 and "This field is required." in response.content.decode()


def test_manager_reroutes_from_the_lead_page(west_org, boss_client) -> None:
    lead = LeadFactory(status="unrouted", country="US", region="US-CA")
    response = csrf_post(boss_client, f"/queue/leads/{lead.pk}/reroute/", {})
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.status == LeadStatus.ASSIGNED
    assert "Rerouted to" in boss_client.get(response["Location"]).content.decode()
    closed = LeadFactory(status="converted")
    response = csrf_post(boss_client, f"/queue/leads/{closed.pk}/reroute/", {}, **JS)
    assert response.status_code == 409 and "cannot be rerouted" in _json(response)["message"]


def test_unknown_lead_is_404_for_everyone(rita_client, boss_client) -> None:
    assert rita_client.get("/queue/leads/999999/").status_code == 404
    assert boss_client.get("/queue/leads/999999/").status_code == 404
    assert (
        csrf_post(
            boss_client, "/queue/leads/999999/reassign/", {"rep": "x", "note": "y"}
        ).status_code
        == 404
    )
