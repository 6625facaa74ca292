"""Admin polish a manager notices (#14): no unused sections, a leads filter by owner that scales,
times in the viewer's own zone, the version that decided a lead."""

from __future__ import annotations

import datetime
import re

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.test import Client
from django.utils import timezone

from apps.configuration.versions import config_version_record
from apps.leads.models import Lead
from apps.reps.models import Rep
from apps.routing.services import lead_route
from tests.factories import LeadFactory, RepFactory, UserFactory

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
HIDDEN_FROM_MANAGERS = [
    "/admin/django_celery_beat/periodictask/",
    "/admin/django_celery_beat/crontabschedule/",
    "/admin/django_celery_beat/intervalschedule/",
    "/admin/django_celery_beat/solarschedule/",
    "/admin/django_celery_beat/clockedschedule/",
    "/admin/routing/rotationstate/",
    "/admin/routing/outboxmessage/",
]


def _login(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


def _manager(username: str = "boss", *, zone: str | None = None) -> User:
    user = UserFactory(username=username, is_staff=True)
    user.groups.add(Group.objects.get(name="RevOps managers"))
    if zone is not None:
        RepFactory(user=user, time_zone=zone)
    return user


def _sections(client: Client) -> dict[str, list[str]]:
    page = client.get("/admin/")
    assert page.status_code == 200
    return {
        app["app_label"]: [m["object_name"] for m in app["models"]]
        for app in page.context["app_list"]
    }


# --- sections per role ----------------------------------------------------------------------------


def test_a_managers_admin_index_has_only_what_a_manager_uses():
    sections = _sections(_login(_manager()))
    assert sections == {
        "accounts": ["Account"],
        "auth": ["User"],
        "configuration": ["RoutingConfigVersion"],
        "leads": ["LeadActivity", "LeadImportMapping", "LeadImport", "Lead"],
        "notifications": ["LeadNotice", "WebhookDelivery", "WebhookEndpoint"],
        "reps": ["Rep", "TimeOff", "WorkingHours"],
        "routing": ["Assignment"],
        "rules": ["RoutingRule"],
        "territories": ["Territory"],
    }
    assert all(sections.values())  # no empty section


def test_the_machinery_is_403_for_a_manager_and_open_to_a_superuser():
    manager = _login(_manager())
    root = _login(User.objects.create_superuser("root", "root@example.com", "pw"))
    for url in HIDDEN_FROM_MANAGERS:
        assert manager.get(url).status_code == 403, url
        assert root.get(url).status_code == 200, url
    sections = _sections(root)
    assert sections["django_celery_beat"] == [
        "ClockedSchedule",
        "CrontabSchedule",
        "IntervalSchedule",
        "PeriodicTask",
        "SolarSchedule",
    ]
    assert sections["routing"] == ["Assignment", "OutboxMessage", "RotationState"]


def test_managers_hold_no_beat_schedule_permission():
    group = Group.objects.get(name="RevOps managers")
    assert not group.permissions.filter(content_type__app_label="django_celery_beat").exists()


@pytest.mark.parametrize("role", ["rep", "integration", "anonymous"])
def test_no_admin_index_for_anyone_else(role, west_org):
    client = Client()
    if role == "rep":
        user = west_org["reps"][0].user
        user.is_staff = True  # a staff flag left on a rep opens nothing
        user.save()
        client.force_login(user)
    elif role == "integration":
        user = UserFactory(username="webform", is_staff=True)
        user.user_permissions.add(
            Permission.objects.get(codename="add_lead", content_type__app_label="leads")
        )
        client.force_login(user)
    for url in ["/admin/", *HIDDEN_FROM_MANAGERS, "/admin/leads/lead/?owner=alice"]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/admin/login/")


# --- the owner filter -----------------------------------------------------------------------------


@pytest.fixture
def owned(west_org):  # type: ignore[no-untyped-def]
    alice, bob, _carol = west_org["reps"]
    leads = {
        "alice": [LeadFactory(owner=alice, status="assigned") for _ in range(2)],
        "bob": [LeadFactory(owner=bob, status="contacted")],
        "nobody": [LeadFactory(status="unrouted")],
    }
    return leads


def _listed(page) -> set[int]:  # type: ignore[no-untyped-def]
    return {lead.pk for lead in page.context["cl"].result_list}


def test_leads_filter_by_owner_username_or_no_owner(owned):
    client = _login(_manager())
    alice = client.get("/admin/leads/lead/", {"owner": "alice"})
    assert alice.status_code == 200
    assert _listed(alice) == {lead.pk for lead in owned["alice"]}
    assert _listed(client.get("/admin/leads/lead/", {"owner": "-"})) == {owned["nobody"][0].pk}
    assert _listed(client.get("/admin/leads/lead/", {"owner": "nosuchrep"})) == set()
    both = client.get("/admin/leads/lead/", {"owner": "alice", "status": "contacted"})
    assert _listed(both) == set()
    assert _listed(client.get("/admin/leads/lead/")) == {
        lead.pk for leads in owned.values() for lead in leads
    }


def test_the_owner_filter_keeps_the_other_filters_and_lists_no_link_per_rep(owned):
    for i in range(40):
        RepFactory(user=UserFactory(username=f"rep{i:03}"))
    page = _login(_manager()).get("/admin/leads/lead/", {"status": "assigned", "q": "lead"})
    html = page.content.decode()
    block = re.search(r'<details data-filter-title="owner".*?</details>', html, re.S)
    assert block is not None
    owner_filter = block.group(0)
    assert '<input type="hidden" name="status" value="assigned">' in owner_filter
    assert '<input type="hidden" name="q" value="lead">' in owner_filter
    assert 'name="owner"' in owner_filter and 'list="rp-owner-usernames"' in owner_filter
    # 43 active reps are suggestions in a datalist, not 43 links
    assert owner_filter.count("<option ") == Rep.objects.filter(active=True).count() == 43
    assert owner_filter.count("<a ") == 2  # All, No owner


def test_the_owner_filter_costs_one_query_however_many_reps(owned, django_assert_max_num_queries):
    client = _login(_manager())
    client.get("/admin/leads/lead/", {"owner": "alice"})  # warm the role cache
    with django_assert_max_num_queries(13) as few:
        client.get("/admin/leads/lead/", {"owner": "alice"})
    for i in range(60):
        RepFactory(user=UserFactory(username=f"rep{i:03}"))
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get("/admin/leads/lead/", {"owner": "alice"}).status_code == 200


# --- times in the viewer's zone -------------------------------------------------------------------


def test_the_admin_shows_times_in_the_viewers_own_zone(west_org):
    created = datetime.datetime(2026, 3, 2, 18, 30, tzinfo=UTC)
    LeadFactory(email="jane@acme.com", created_at=created)
    in_la = _login(_manager("lena", zone="America/Los_Angeles")).get("/admin/leads/lead/")
    in_utc = _login(_manager("uma")).get("/admin/leads/lead/")
    # a manager who is also a rep reads their own zone; one without a rep reads UTC
    assert ">2026-03-02 10:30<" in in_la.content.decode()
    assert ">2026-03-02 18:30<" in in_utc.content.decode()
    # the zone ends with the request: nothing else in this thread is shifted
    assert timezone.get_current_timezone_name() == "UTC"


def test_test_a_lead_reads_the_moment_in_the_viewers_zone(west_org):
    client = _login(_manager("lena", zone="Europe/Berlin"))
    form = client.get("/admin/rules/routingrule/test-lead/")
    assert "in your time zone (Europe/Berlin)" in form.content.decode()
    page = client.post(
        "/admin/rules/routingrule/test-lead/",
        {"email": "ops@small.com", "country": "US", "region": "WA", "at": "2026-03-02T10:00"},
    )
    assert page.context["result"]["trace"]["evaluated_at"] == datetime.datetime(
        2026, 3, 2, 9, 0, tzinfo=UTC
    )
    assert "Evaluated at 2026-03-02 10:00:00 CET" in page.content.decode()


def test_portal_pages_are_not_shifted_by_the_admins_zone(west_org):
    lena = _manager("lena", zone="Asia/Tokyo")
    client = _login(lena)
    client.get("/admin/")
    assert timezone.get_current_timezone_name() == "UTC"


# --- the version behind a lead's decision ---------------------------------------------------------


def test_lead_page_names_the_version_that_decided_it(west_org):
    boss = _manager()
    version = config_version_record(actor=boss, source="admin", summary="West rules")
    lead = LeadFactory(email="cto@bigco.com", country="US", region="US-CA", company_size=3000)
    lead_route(lead_id=lead.pk)
    page = _login(boss).get(f"/admin/leads/lead/{lead.pk}/change/")
    html = " ".join(page.content.decode().split())
    link = f"/admin/configuration/routingconfigversion/{version.pk}/change/"
    assert f'Decided by configuration version <a href="{link}">v{version.number}</a>' in html
    assert "(West rules)." in html
    assert _login(boss).get(link).status_code == 200
    assert Lead.objects.get(pk=lead.pk).owner is not None


def test_lists_give_the_model_sidebar_width_back_and_forms_keep_it(owned):
    client = _login(_manager())
    assert client.get("/admin/leads/lead/").context["is_nav_sidebar_enabled"] is False
    lead = owned["alice"][0]
    change = client.get(f"/admin/leads/lead/{lead.pk}/change/")
    assert change.context["is_nav_sidebar_enabled"] is True
    assert 'id="nav-sidebar"' in change.content.decode()
