"""The lead API's permission matrix, role by role (API.md "Roles")."""

from __future__ import annotations

from unittest import mock

import pytest
from django.contrib.auth.models import Group
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from apps.leads.models import Lead
from apps.routing.tasks import route_lead
from tests.api.leads.conftest import token_client
from tests.factories import LeadFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/leads/"
OWNER_ACTIONS = {
    "contact": {},
    "convert": {"reason": "signed"},
    "disqualify": {"reason": "no budget"},
}
MANAGER_ACTIONS = {"reassign": {"rep": "otto", "note": "covering"}, "reroute": {}}


def lead_of(rep, status="assigned"):  # type: ignore[no-untyped-def]
    return LeadFactory(owner=rep, status=status)


# Anonymous -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", ""),
        ("post", ""),
        ("get", "{id}/"),
        ("get", "{id}/assignments/"),
        ("get", "{id}/activity/"),
        *[("post", f"{{id}}/{name}/") for name in (*OWNER_ACTIONS, *MANAGER_ACTIONS)],
    ],
)
def test_anonymous_is_401(rita, method, path):
    lead = lead_of(rita)
    response = getattr(APIClient(), method)(URL + path.format(id=lead.pk), {}, format="json")
    assert response.status_code == 401
    assert "WWW-Authenticate" in response


def test_bad_token_is_401(rita):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert client.get(URL).status_code == 401


# Rep -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "payload"), OWNER_ACTIONS.items())
def test_rep_acts_on_own_lead(rita, rita_client, name, payload):
    lead = lead_of(rita)
    response = rita_client.post(f"{URL}{lead.pk}/{name}/", payload, format="json")
    assert response.status_code == 200, response.content


def test_rep_reads_own_lead_and_its_history(rita, rita_client):
    lead = lead_of(rita)
    assert rita_client.get(f"{URL}{lead.pk}/").status_code == 200
    assert rita_client.get(f"{URL}{lead.pk}/assignments/").status_code == 200
    assert rita_client.get(f"{URL}{lead.pk}/activity/").status_code == 200
    assert [row["id"] for row in rita_client.get(URL).json()["results"]] == [lead.pk]


@pytest.mark.parametrize(
    ("method", "path", "payload"),
    [
        ("get", "", None),
        ("get", "assignments/", None),
        ("get", "activity/", None),
        *[("post", f"{name}/", payload) for name, payload in OWNER_ACTIONS.items()],
    ],
)
def test_rep_on_someone_elses_lead_is_404(rita_client, otto, method, path, payload):
    lead = lead_of(otto)
    response = getattr(rita_client, method)(f"{URL}{lead.pk}/{path}", payload, format="json")
    assert response.status_code == 404
    assert Lead.objects.get(pk=lead.pk).status == "assigned"


@pytest.mark.parametrize(("name", "payload"), MANAGER_ACTIONS.items())
@pytest.mark.parametrize("whose", ["own", "other"])
def test_rep_on_manager_actions_is_403(rita, otto, rita_client, name, payload, whose):
    lead = lead_of(rita if whose == "own" else otto)
    response = rita_client.post(f"{URL}{lead.pk}/{name}/", payload, format="json")
    assert response.status_code == 403
    assert Lead.objects.get(pk=lead.pk).owner_id == lead.owner_id


def test_rep_cannot_submit_leads(rita_client):
    assert rita_client.post(URL, {"email": "a@b.com"}, format="json").status_code == 403
    assert not Lead.objects.exists()


def test_user_without_a_role_sees_nothing(rita):
    client = token_client(UserFactory(username="nobody"))
    lead = lead_of(rita)
    assert client.get(URL).json()["count"] == 0
    assert client.get(f"{URL}{lead.pk}/").status_code == 404
    assert client.post(f"{URL}{lead.pk}/contact/", {}, format="json").status_code == 404
    assert client.post(URL, {"email": "a@b.com"}, format="json").status_code == 403


# Integration user (leads.add_lead) ---------------------------------------------------------------


def test_integration_user_submits_but_sees_no_leads(
    integration_client, rita, django_capture_on_commit_callbacks
):
    with (
        mock.patch.object(route_lead, "apply_async"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = integration_client.post(
            URL, {"email": "a@b.com", "external_id": "f-1"}, format="json"
        )
    assert response.status_code == 201
    assert integration_client.get(URL).json()["count"] == 0
    assert (
        integration_client.post(f"{URL}{lead_of(rita).pk}/convert/", {}, format="json").status_code
        == 404
    )


# Manager ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("manager_kind", ["group", "superuser"])
def test_manager_acts_everywhere(rita, otto, manager_kind, django_capture_on_commit_callbacks):
    if manager_kind == "superuser":
        user = UserFactory(username="root", is_superuser=True)
    else:
        user = UserFactory(username="boss")
        user.groups.add(Group.objects.get(name="RevOps managers"))
    client = token_client(user)
    with (
        mock.patch.object(route_lead, "apply_async"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert client.post(URL, {"email": "m@b.com"}, format="json").status_code == 201
    assert client.get(URL).json()["count"] == 1
    for name, payload in OWNER_ACTIONS.items():
        lead = lead_of(rita)
        assert client.get(f"{URL}{lead.pk}/").status_code == 200
        assert client.get(f"{URL}{lead.pk}/assignments/").status_code == 200
        assert client.post(f"{URL}{lead.pk}/{name}/", payload, format="json").status_code == 200
    lead = lead_of(rita)
    assert (
        client.post(
            f"{URL}{lead.pk}/reassign/", MANAGER_ACTIONS["reassign"], format="json"
        ).status_code
        == 200
    )
    assert Lead.objects.get(pk=lead.pk).owner == otto


def test_manager_reroute_allowed(manager_client, west_org):
    lead = LeadFactory(
        owner=west_org["reps"][0], status="assigned", country="US", region="US-CA", company_size=10
    )
    response = manager_client.post(f"{URL}{lead.pk}/reroute/", {}, format="json")
    assert response.status_code == 200, response.content


# Session auth with CSRF ------------------------------------------------------------------------


def test_session_auth_enforces_csrf(rita):
    rita.user.set_password("pw-for-tests-1")
    rita.user.save()
    lead = lead_of(rita)
    client = APIClient(enforce_csrf_checks=True)
    assert client.login(username="rita", password="pw-for-tests-1")
    assert client.get(f"{URL}{lead.pk}/").status_code == 200  # safe methods need no token
    refused = client.post(f"{URL}{lead.pk}/contact/", {}, format="json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    assert Lead.objects.get(pk=lead.pk).status == "assigned"

    client.get("/admin/login/")  # sets the csrftoken cookie
    token = client.cookies["csrftoken"].value
    accepted = client.post(f"{URL}{lead.pk}/contact/", {}, format="json", HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 200, accepted.content
    assert accepted.json()["status"] == "contacted"


def test_token_auth_needs_no_csrf(rita):
    lead = lead_of(rita)
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=rita.user).key}")
    assert client.post(f"{URL}{lead.pk}/contact/", {}, format="json").status_code == 200


def test_drf_create_token_command_makes_a_working_token(rita):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("drf_create_token", "rita", stdout=out)
    key = out.getvalue().split()[2]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get(URL).status_code == 200


def test_a_submitters_right_is_read_once_then_costs_no_query(webform, django_assert_num_queries):
    """Django reads a user's permissions from the database on every request (token auth loads
    the user afresh); intake asks once and remembers it briefly, as it does manager status."""
    from django.contrib.auth import get_user_model

    from apps.core.roles import user_may_submit_leads

    User = get_user_model()
    assert user_may_submit_leads(User.objects.get(pk=webform.pk))
    fresh = User.objects.get(pk=webform.pk)  # the next request's user object
    with django_assert_num_queries(0):
        assert user_may_submit_leads(fresh)


def test_a_revoked_submitter_is_refused_once_the_user_admin_saves_them(webform):
    from django.contrib.auth.models import Permission

    from apps.core.roles import role_cache_forget

    client = token_client(webform)
    assert client.post(URL, {"email": "a@example.com"}, format="json").status_code == 201
    webform.user_permissions.remove(
        Permission.objects.get(codename="add_lead", content_type__app_label="leads")
    )
    role_cache_forget(webform)  # what the user admin does on save
    assert client.post(URL, {"email": "b@example.com"}, format="json").status_code == 403
