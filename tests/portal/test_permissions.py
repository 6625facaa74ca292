"""Every page and action, role by role: anonymous, integration account, rep, manager.

A rep never sees nor acts on another rep's lead (404, as in the API) or time off; the managers'
pages and actions are 403 to reps; an integration account has no page at all.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from apps.leads.models import LeadStatus
from apps.reps.models import TimeOff
from tests.factories import TimeOffFactory
from tests.portal.conftest import client_for, csrf_post, lead_of

pytestmark = pytest.mark.django_db

REP_ACTIONS = {
    "contact": {},
    "convert": {},
    "disqualify": {},
}
MANAGER_ACTIONS = {"reassign": {"rep": "otto", "note": "covering"}, "reroute": {}}


def _pages(lead_id: int) -> list[str]:
    return ["/queue/", f"/queue/leads/{lead_id}/", "/availability/", "/queue/unrouted/"]


def _posts(lead_id: int, time_off_id: int) -> list[str]:
    return [
        *[f"/queue/leads/{lead_id}/{name}/" for name in (*REP_ACTIONS, *MANAGER_ACTIONS)],
        "/availability/",
        "/availability/away/",
        "/availability/hours/",
        f"/availability/time-off/{time_off_id}/cancel/",
        "/queue/unrouted/reroute/",
    ]


def _period(rep):  # type: ignore[no-untyped-def]
    now = timezone.now()
    return TimeOffFactory(
        rep=rep,
        starts_at=now + timezone.timedelta(days=1),
        ends_at=now + timezone.timedelta(days=2),
    )


def test_anonymous_is_sent_to_sign_in_everywhere(rita) -> None:
    lead = lead_of(rita)
    period = _period(rita)
    client = Client(enforce_csrf_checks=True)
    for url in [*_pages(lead.pk), "/start/"]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"] == f"/accounts/login/?next={url}", url
    for url in _posts(lead.pk, period.pk):
        response = csrf_post(client, url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/"), url
    lead.refresh_from_db()
    assert lead.status == LeadStatus.ASSIGNED
    assert TimeOff.objects.filter(pk=period.pk).exists()


def test_integration_account_is_refused_every_page_and_action(rita, webform) -> None:
    lead = lead_of(rita)
    period = _period(rita)
    client = client_for(webform)
    for url in _pages(lead.pk):
        assert client.get(url).status_code == 403, url
    for url in _posts(lead.pk, period.pk):
        assert csrf_post(client, url, {"away": "1"}).status_code == 403, url
    lead.refresh_from_db()
    assert lead.status == LeadStatus.ASSIGNED


def test_user_without_any_role_is_refused(db) -> None:
    from tests.factories import UserFactory

    client = client_for(UserFactory(username="nobody"))
    for url in ("/queue/", "/availability/", "/queue/unrouted/", "/start/"):
        assert client.get(url).status_code == 403, url


def test_rep_reaches_their_own_pages(rita, rita_client) -> None:
    lead = lead_of(rita)
    for url in ("/queue/", f"/queue/leads/{lead.pk}/", "/availability/"):
        assert rita_client.get(url).status_code == 200, url


def test_rep_gets_404_for_another_reps_lead_on_every_page_and_action(
    rita, otto, rita_client
) -> None:
    theirs = lead_of(otto)
    assert rita_client.get(f"/queue/leads/{theirs.pk}/").status_code == 404
    for name in REP_ACTIONS:
        response = csrf_post(
            rita_client, f"/queue/leads/{theirs.pk}/{name}/", {f"d{theirs.pk}-reason": "x"}
        )
        assert response.status_code == 404, name
        response = csrf_post(
            rita_client, f"/queue/leads/{theirs.pk}/{name}/", HTTP_X_PORTAL_FRAGMENT="1"
        )
        assert response.status_code == 404, name
    theirs.refresh_from_db()
    assert theirs.status == LeadStatus.ASSIGNED and theirs.first_contacted_at is None
    assert f'id="lead-{theirs.pk}"' not in rita_client.get("/queue/").content.decode()


def test_rep_never_sees_another_reps_lead_in_the_queue(rita, otto, rita_client) -> None:
    mine = lead_of(rita, company="Mine Inc")
    theirs = lead_of(otto, company="Theirs Ltd")
    body = rita_client.get("/queue/").content.decode()
    assert f'id="lead-{mine.pk}"' in body
    assert f'id="lead-{theirs.pk}"' not in body and "Theirs Ltd" not in body
    # Not even by filtering on the other rep's name.
    body = rita_client.get("/queue/", {"owner": "otto"}).content.decode()
    assert "Theirs Ltd" not in body


def test_rep_is_refused_the_managers_pages_and_actions(rita, otto, rita_client) -> None:
    lead = lead_of(rita)
    assert rita_client.get("/queue/unrouted/").status_code == 403
    for name, payload in MANAGER_ACTIONS.items():
        assert csrf_post(rita_client, f"/queue/leads/{lead.pk}/{name}/", payload).status_code == 403
    assert (
        csrf_post(rita_client, "/queue/unrouted/reroute/", {"leads": [lead.pk]}).status_code == 403
    )
    lead.refresh_from_db()
    assert lead.owner_id == rita.pk


def test_rep_cannot_cancel_another_reps_time_off(rita, otto, rita_client) -> None:
    period = _period(otto)
    assert csrf_post(rita_client, f"/availability/time-off/{period.pk}/cancel/").status_code == 404
    assert TimeOff.objects.filter(pk=period.pk).exists()


def test_rep_availability_actions_touch_only_their_own_record(rita, otto, rita_client) -> None:
    # The form names no rep: whatever is posted, only the signed-in rep changes.
    csrf_post(rita_client, "/availability/away/", {"away": "1", "rep": "otto"})
    rita.refresh_from_db()
    otto.refresh_from_db()
    assert rita.away is True and otto.away is False


def test_manager_without_a_rep_is_sent_from_rep_pages_to_the_managers_queue(boss_client) -> None:
    assert boss_client.get("/queue/")["Location"] == "/queue/unrouted/"
    assert boss_client.get("/availability/")["Location"] == "/queue/unrouted/"
    # ...but cannot post a rep's availability, having none.
    assert csrf_post(boss_client, "/availability/away/", {"away": "1"}).status_code == 403


def test_manager_reads_any_lead_and_the_managers_queue(rita, boss_client) -> None:
    lead = lead_of(rita)
    assert boss_client.get(f"/queue/leads/{lead.pk}/").status_code == 200
    assert boss_client.get("/queue/unrouted/").status_code == 200


def test_every_post_needs_the_csrf_token(rita, rita_client) -> None:
    lead = lead_of(rita)
    for url in (f"/queue/leads/{lead.pk}/contact/", "/availability/away/", "/availability/"):
        assert rita_client.post(url, {"away": "1"}).status_code == 403, url
    lead.refresh_from_db()
    assert lead.status == LeadStatus.ASSIGNED


def test_pages_refuse_other_methods(rita, rita_client) -> None:
    lead = lead_of(rita)
    assert rita_client.get(f"/queue/leads/{lead.pk}/contact/").status_code == 405
    assert csrf_post(rita_client, "/queue/").status_code == 405
