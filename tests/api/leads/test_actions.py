"""Lead actions and assignment history as reps and managers use them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.leads.models import Lead, LeadActivity
from apps.routing.models import Assignment
from apps.routing.services import lead_route
from tests.factories import LeadFactory, RepFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/leads/"


def action(client, lead, name, payload=None):  # type: ignore[no-untyped-def]
    return client.post(f"{URL}{lead.pk}/{name}/", payload or {}, format="json")


@pytest.fixture
def routed(west_org):  # type: ignore[no-untyped-def]
    """An enterprise lead routed by round robin to alice."""
    lead = LeadFactory(email="big@corp.com", country="US", region="US-CA", company_size=5000)
    lead_route(lead_id=lead.pk)
    lead.refresh_from_db()
    assert lead.status == "assigned"
    return lead


def test_contact_moves_assigned_to_contacted_once(rita, rita_client):
    lead = LeadFactory(owner=rita, status="assigned", created_at=timezone.now() - timedelta(days=2))
    earlier = timezone.now() - timedelta(hours=3)
    response = action(
        rita_client, lead, "contact", {"at": earlier.isoformat(), "note": "left a voicemail"}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "contacted"
    assert body["first_contacted_at"] == earlier.isoformat().replace("+00:00", "Z")

    # A second touch is a note; the first contact time stays.
    again = action(rita_client, lead, "contact", {"note": "spoke to them"})
    assert again.status_code == 200
    assert again.json()["first_contacted_at"] == body["first_contacted_at"]
    assert list(LeadActivity.objects.filter(lead=lead).values_list("kind", flat=True)) == [
        "contacted",
        "note",
    ]


@pytest.mark.parametrize(
    ("offset", "message"),
    [(timedelta(days=-3), "before the lead was created"), (timedelta(hours=2), "in the future")],
)
def test_contact_time_outside_the_lead_life_is_a_400_naming_at(rita, rita_client, offset, message):
    lead = LeadFactory(owner=rita, status="assigned", created_at=timezone.now() - timedelta(days=1))
    response = action(rita_client, lead, "contact", {"at": (timezone.now() + offset).isoformat()})
    assert response.status_code == 400
    assert message in response.json()["at"][0]
    lead.refresh_from_db()
    assert lead.status == "assigned"
    assert lead.first_contacted_at is None


@pytest.mark.parametrize(
    ("status", "name"),
    [
        ("converted", "contact"),
        ("disqualified", "convert"),
        ("converted", "disqualify"),
        ("new", "contact"),
        ("unrouted", "convert"),
        ("duplicate", "contact"),
    ],
)
def test_actions_that_do_not_fit_the_state_are_409(manager_client, rita, status, name):
    original = LeadFactory(owner=rita, status="assigned")
    lead = LeadFactory(
        owner=rita if status != "new" and status != "unrouted" else None,
        status=status,
        duplicate_of=original if status == "duplicate" else None,
    )
    response = action(manager_client, lead, name, {"reason": "x"})
    assert response.status_code == 409, response.content
    assert f"A {status} lead cannot" in response.json()["detail"]
    lead.refresh_from_db()
    assert lead.status == status


@pytest.mark.parametrize(
    ("name", "status"), [("convert", "converted"), ("disqualify", "disqualified")]
)
def test_close_sets_closed_at_and_logs_the_reason(rita, rita_client, name, status):
    lead = LeadFactory(owner=rita, status="contacted")
    response = action(rita_client, lead, name, {"reason": "budget approved"})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == status
    assert response.json()["closed_at"] is not None
    assert LeadActivity.objects.get(lead=lead).note == "budget approved"
    # Closing twice does not fit.
    assert action(rita_client, lead, name, {"reason": "again"}).status_code == 409


def test_reassign_needs_a_note_and_a_known_rep(manager_client, routed):
    bad = action(manager_client, routed, "reassign", {"rep": "bob", "note": "  "})
    assert bad.status_code == 400
    assert "note" in bad.json()
    missing = action(manager_client, routed, "reassign", {"rep": "bob"})
    assert missing.status_code == 400
    assert "note" in missing.json()
    unknown = action(manager_client, routed, "reassign", {"rep": "nobody", "note": "x"})
    assert unknown.status_code == 400
    assert unknown.json() == {"rep": ["Unknown rep 'nobody'."]}
    inactive = RepFactory(user=UserFactory(username="ivan"), active=False)
    assert (
        action(
            manager_client, routed, "reassign", {"rep": inactive.user.username, "note": "x"}
        ).status_code
        == 400
    )
    assert Assignment.objects.filter(lead=routed).count() == 1


def test_reassign_then_history_reads_oldest_first(manager_client, routed):
    response = action(
        manager_client, routed, "reassign", {"rep": "carol", "note": "speaks Spanish"}
    )
    assert response.status_code == 200, response.content
    assert response.json()["owner"] == "carol"
    assert response.json()["rule"] is None
    same = action(manager_client, routed, "reassign", {"rep": "carol", "note": "again"})
    assert same.status_code == 409

    history = manager_client.get(f"{URL}{routed.pk}/assignments/").json()
    rows = history["results"]
    assert [row["rep"] for row in rows] == ["alice", "carol"]
    first, second = rows
    assert set(first) == {
        "rep",
        "rule",
        "config_version",
        "strategy",
        "kind",
        "reason",
        "actor",
        "assigned_at",
        "ended_at",
        "trace",
    }
    assert first["rule"] == "Enterprise West"
    assert first["kind"] == "auto"
    assert first["strategy"] == "round_robin"
    assert first["actor"] is None
    assert first["ended_at"] == second["assigned_at"]
    assert first["trace"]["outcome"]
    assert second["kind"] == "manual"
    assert second["actor"] == "manager"
    assert "speaks Spanish" in second["reason"]
    assert second["ended_at"] is None


def test_assignment_history_is_read_only(manager_client, routed):
    url = f"{URL}{routed.pk}/assignments/"
    for method in ("post", "put", "patch", "delete"):
        assert getattr(manager_client, method)(url, {}, format="json").status_code == 405


def test_reroute_runs_routing_again(manager_client, routed):
    response = action(manager_client, routed, "reroute")
    assert response.status_code == 200, response.content
    assert response.json()["owner"] == "bob"  # the rotation moved on
    kinds = list(
        Assignment.objects.filter(lead=routed).values_list("rep__user__username", flat=True)
    )
    assert kinds == ["alice", "bob"]


@pytest.mark.parametrize(
    ("name", "payload", "kind"),
    [("reassign", {"rep": "carol", "note": "speaks Spanish"}, "manual"), ("reroute", {}, "manual")],
)
def test_a_move_by_hand_is_logged_like_a_sweep_move(manager_client, routed, name, payload, kind):
    from apps.reps.models import Rep

    alice = Rep.objects.get(user__username="alice")
    assert action(manager_client, routed, name, payload).status_code == 200
    rows = manager_client.get(f"{URL}{routed.pk}/activity/").json()["results"]
    assert [row["kind"] for row in rows] == ["assigned", "reassigned"]
    moved = rows[-1]
    current = Assignment.objects.get(lead=routed, ended_at__isnull=True)
    assert moved["actor"] == "manager"
    assert moved["note"] == current.reason
    assert moved["data"] == {
        "from": alice.pk,
        "to": current.rep_id,
        "kind": kind,
        "assignment": current.pk,
    }


def test_reroute_with_no_one_eligible_is_409_and_changes_nothing(manager_client, routed):
    from apps.reps.models import Rep

    Rep.objects.update(active=False)
    response = action(manager_client, routed, "reroute")
    assert response.status_code == 409
    assert "no eligible rep" in response.json()["detail"]
    routed.refresh_from_db()
    assert routed.owner.username == "alice"


def test_reroute_of_a_closed_lead_is_409(manager_client, rita):
    lead = LeadFactory(owner=rita, status="converted")
    response = action(manager_client, lead, "reroute")
    assert response.status_code == 409
    assert Lead.objects.get(pk=lead.pk).status == "converted"


def test_unknown_lead_is_404(manager_client):
    assert action(manager_client, Lead(pk=999_999), "contact").status_code == 404
    assert manager_client.get(f"{URL}999999/assignments/").status_code == 404


def test_closing_ends_the_assignment_of_the_lead_and_its_duplicates(west_org, manager_client):
    from apps.routing.models import Assignment
    from apps.routing.services import lead_route
    from tests.factories import LeadFactory

    original = LeadFactory(email="same@acme.com", company_size=5000, country="US", region="US-CA")
    lead_route(lead_id=original.pk)
    copy = LeadFactory(email="same@acme.com", company_size=5000, country="US", region="US-CA")
    lead_route(lead_id=copy.pk)
    response = manager_client.post(
        f"/api/leads/{original.pk}/convert/", {"reason": "won"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert not Assignment.objects.filter(ended_at__isnull=True).exists()


def test_rerouting_a_new_lead_still_checks_for_duplicates(west_org, manager_client):
    from apps.routing.services import lead_route
    from tests.factories import LeadFactory

    original = LeadFactory(email="z@z.com", company_size=5000, country="US", region="US-CA")
    lead_route(lead_id=original.pk)
    copy = LeadFactory(email="z@z.com", company_size=5000, country="US", region="US-CA")
    body = manager_client.post(f"/api/leads/{copy.pk}/reroute/", format="json").json()
    assert body["status"] == "duplicate"
    assert body["duplicate_of"] == original.pk


@pytest.mark.parametrize(
    ("url", "payload", "field"),
    [
        ("/api/routing/simulate/", {"email": "a@b.com", "at": "0001-01-01T00:00:00Z"}, "at"),
        ("/api/leads/", {"email": "a@b.com", "created_at": "0001-01-01T00:00:00Z"}, "created_at"),
    ],
)
def test_absurd_moments_are_400s(west_org, manager_client, url, payload, field):
    response = manager_client.post(url, payload, format="json")
    assert response.status_code == 400
    assert field in response.json()


# Ownership is checked again under the row lock ------------------------------------------------

SERVICE_ACTIONS = {
    "contact": "lead_contact",
    "convert": "lead_convert",
    "disqualify": "lead_disqualify",
}


@pytest.mark.parametrize("name", SERVICE_ACTIONS)
def test_service_refuses_a_rep_whose_lead_was_just_moved(rita, otto, name):
    from apps.routing import lead_work as services

    lead = LeadFactory(owner=rita, status="assigned")
    # Moved to otto after rita's page (or the view's permission check) saw it as hers.
    Lead.objects.filter(pk=lead.pk).update(owner=otto)
    with pytest.raises(services.LeadMovedError, match="moved to another rep a moment ago"):
        getattr(services, SERVICE_ACTIONS[name])(lead_id=lead.pk, actor=rita.user)
    lead.refresh_from_db()
    assert (lead.status, lead.owner) == ("assigned", otto)
    assert not LeadActivity.objects.filter(lead=lead).exists()
    # The new owner, a manager and the system still may.
    getattr(services, SERVICE_ACTIONS[name])(lead_id=lead.pk, actor=otto.user)


@pytest.mark.parametrize("name", SERVICE_ACTIONS)
def test_a_manager_acts_on_any_lead(manager_user, rita, name):
    from apps.routing import lead_work as services

    lead = LeadFactory(owner=rita, status="assigned")
    getattr(services, SERVICE_ACTIONS[name])(lead_id=lead.pk, actor=manager_user)
    lead.refresh_from_db()
    assert lead.status != "assigned"


@pytest.mark.parametrize("name", SERVICE_ACTIONS)
def test_api_answers_409_when_the_lead_moves_between_check_and_lock(rita, otto, rita_client, name):
    from unittest import mock

    from apps.api.leads.views import _LeadActionApi

    lead = LeadFactory(owner=rita, status="assigned")
    visible = _LeadActionApi.get_object

    def seen_then_moved(view):  # type: ignore[no-untyped-def]
        found = visible(view)  # rita's lead when the view checks...
        Lead.objects.filter(pk=found.pk).update(owner=otto)  # ...otto's when the service locks
        return found

    with mock.patch.object(_LeadActionApi, "get_object", seen_then_moved):
        response = action(rita_client, lead, name, {"reason": "x"} if name != "contact" else {})
    assert response.status_code == 409
    assert response.json() == {"detail": "This lead was moved to another rep a moment ago."}
    lead.refresh_from_db()
    assert (lead.status, lead.owner) == ("assigned", otto)


@pytest.mark.parametrize(
    ("name", "payload"), [("reassign", {"rep": "carol", "note": "covering"}), ("reroute", {})]
)
def test_a_move_by_hand_settles_an_escalation(manager_client, routed, name, payload):
    Lead.objects.filter(pk=routed.pk).update(
        escalated_at=timezone.now(), reassignment_count=2, sla_due_at=timezone.now()
    )
    response = action(manager_client, routed, name, payload)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["escalated_at"] is None
    assert body["reassignment_count"] == 0
    assert body["owner"] != "alice"
    routed.refresh_from_db()
    assert routed.sla_due_at > timezone.now()  # the ladder starts afresh for the new owner
    assert Assignment.objects.get(lead=routed, ended_at__isnull=True).kind == "manual"


def test_rerouting_an_unrouted_lead_is_a_retry(west_org, manager_client):
    lead = LeadFactory(email="x@corp.com", country="US", region="US-CA", status="unrouted")
    response = action(manager_client, lead, "reroute")
    assert response.status_code == 200, response.content
    assert Assignment.objects.get(lead=lead).kind == "retry"
