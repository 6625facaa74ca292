"""Rep CRUD and time off: the permission matrix role by role, exact errors, versions."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.configuration.models import RoutingConfigVersion
from apps.reps.models import Rep, TimeOff
from apps.routing.models import Assignment
from tests.factories import (
    LeadFactory,
    RepFactory,
    TimeOffFactory,
    UserFactory,
    WorkingHoursFactory,
)

URL = "/api/reps/"
TIME_OFF = "/api/time-off/"


def _client(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def alice_client(west_org):
    return _client(west_org["reps"][0].user)


def test_anonymous_gets_401(west_org):
    anon = APIClient()
    for method, url in [
        ("get", URL),
        ("get", URL + "alice/"),
        ("post", URL),
        ("patch", URL + "alice/"),
        ("delete", URL + "alice/"),
        ("get", TIME_OFF),
        ("post", TIME_OFF),
    ]:
        assert getattr(anon, method)(url, {}, format="json").status_code == 401, (method, url)


def test_rep_sees_only_themselves(alice_client, west_org):
    listing = alice_client.get(URL).json()
    assert [r["username"] for r in listing["results"]] == ["alice"]
    assert alice_client.get(URL + "alice/").status_code == 200
    assert alice_client.get(URL + "bob/").status_code == 404


def test_rep_may_patch_only_their_own_away(alice_client, west_org):
    response = alice_client.patch(URL + "alice/", {"away": True}, format="json")
    assert response.status_code == 200
    assert response.json()["away"] is True
    assert Rep.objects.get(user__username="alice").away is True
    version = RoutingConfigVersion.objects.get()
    assert (version.source, version.summary, version.author) == (
        "api",
        "reps: alice away",
        west_org["reps"][0].user,
    )
    assert (
        alice_client.patch(URL + "alice/", {"away": False, "weight": 5}, format="json").status_code
        == 403
    )
    assert alice_client.patch(URL + "alice/", {"weight": 5}, format="json").status_code == 403
    assert alice_client.patch(URL + "bob/", {"away": True}, format="json").status_code == 404
    assert alice_client.put(URL + "alice/", {"username": "alice"}, format="json").status_code == 403
    assert alice_client.delete(URL + "alice/").status_code == 403
    assert alice_client.post(URL, {"username": "zed"}, format="json").status_code == 403
    assert alice_client.patch(URL + "alice/", {"away": "maybe"}, format="json").json() == {
        "away": ["Must be a valid boolean."]
    }


def test_user_without_rep_or_manager_role(west_org):
    client = _client(UserFactory(username="integration"))
    # No role, no reads (API.md "Roles"): 403, not an empty list.
    assert client.get(URL).status_code == 403
    assert client.get(URL + "alice/").status_code == 403
    assert client.get(TIME_OFF).status_code == 403
    assert client.post(URL, {"username": "zed"}, format="json").status_code == 403
    assert (
        client.post(
            TIME_OFF,
            {"starts_at": "2026-01-01T00:00:00Z", "ends_at": "2026-01-02T00:00:00Z"},
            format="json",
        ).status_code
        == 403
    )


def test_manager_crud(manager_client, west_org):
    created = manager_client.post(
        URL,
        {
            "username": "dana",
            "name": "Dana Scully",
            "email": "dana@example.com",
            "time_zone": "Europe/Paris",
            "territories": ["US-WEST"],
            "languages": ["FR", "en"],
            "skills": ["Healthcare"],
            "working_hours": [{"weekdays": [0, 1], "start": "08:00", "end": "16:00"}],
            "away": True,
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert created.json() == {
        "username": "dana",
        "name": "Dana Scully",
        "email": "dana@example.com",
        "time_zone": "Europe/Paris",
        "active": True,
        "territories": ["US-WEST"],
        "weight": 1,
        "max_open_leads": None,
        "max_daily_leads": None,
        "skills": ["healthcare"],
        "languages": ["en", "fr"],
        "working_hours": [{"weekdays": [0, 1], "start": "08:00", "end": "16:00"}],
        "time_off": [],
        "away": True,
    }
    dana = Rep.objects.get(user__username="dana")
    assert not dana.user.has_usable_password()
    patched = manager_client.patch(URL + "dana/", {"weight": 3, "away": False}, format="json")
    assert patched.status_code == 200
    assert (patched.json()["weight"], patched.json()["away"]) == (3, False)
    assert manager_client.get(URL + "?territory=US-WEST").json()["count"] == 4
    assert manager_client.delete(URL + "dana/").status_code == 204
    assert not Rep.objects.filter(user__username="dana").exists()
    sources = list(RoutingConfigVersion.objects.values_list("source", flat=True))
    assert len(sources) == 5 and set(sources) == {"api"}  # create, away, patch, back, delete


def test_delete_rep_with_leads_deactivates(manager_client, west_org):
    bob = west_org["reps"][1]
    lead = LeadFactory(owner=bob, status="assigned")
    Assignment.objects.create(lead=lead, rep=bob, kind="auto", reason="test")
    response = manager_client.delete(URL + "bob/")
    assert response.status_code == 200
    assert response.json()["active"] is False
    assert response.json()["detail"] == "reps: +0 ~1 -0 (kept inactive, they have leads: bob)"


def test_bad_time_zone_exact_error(manager_client, west_org):
    response = manager_client.patch(URL + "alice/", {"time_zone": "Mars/Olympus"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"time_zone": ["'Mars/Olympus' is not an IANA time zone."]}
    response = manager_client.post(
        URL,
        {
            "username": "eve",
            "time_zone": "Nowhere",
            "max_open_leads": -1,
            "working_hours": [{"weekdays": [7], "start": "9am", "end": "17:00"}],
        },
        format="json",
    )
    assert response.json() == {
        "time_zone": ["'Nowhere' is not an IANA time zone."],
        "max_open_leads": ["Ensure this value is greater than or equal to 0."],
        "working_hours": {
            "0": {
                "weekdays": {"0": ["Ensure this value is less than or equal to 6."]},
                "start": [
                    "Time has wrong format. Use one of these formats instead: hh:mm, hh:mm:ss."
                ],
            }
        },
    }
    assert not Rep.objects.filter(user__username="eve").exists()
    assert RoutingConfigVersion.objects.count() == 0


def test_overlapping_working_hours_400(manager_client, west_org):
    response = manager_client.patch(
        URL + "alice/",
        {
            "working_hours": [
                {"weekdays": [0, 1, 2], "start": "09:00", "end": "17:00"},
                {"weekdays": [2], "start": "12:00", "end": "20:00"},
            ]
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"working_hours": ["working hours 0 and 1 overlap on Wed"]}


@pytest.mark.parametrize("rows", [5, 100])
def test_rep_list_query_count(manager_client, db, rows, django_assert_max_num_queries):
    for _ in range(rows):
        rep = RepFactory()
        WorkingHoursFactory(rep=rep)
        TimeOffFactory(rep=rep, starts_at="2026-01-01T00:00:00Z", ends_at="2026-01-02T00:00:00Z")
    with django_assert_max_num_queries(7):
        assert manager_client.get(URL + "?page_size=500").json()["count"] == rows


# --- time off -----------------------------------------------------------------------------------

PERIOD = {
    "starts_at": "2026-12-21T00:00:00Z",
    "ends_at": "2027-01-04T00:00:00Z",
    "reason": "vacation",
}


def test_rep_manages_own_time_off(alice_client, west_org):
    created = alice_client.post(TIME_OFF, PERIOD, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body == {"id": body["id"], "rep": "alice", **PERIOD, "note": ""}
    assert RoutingConfigVersion.objects.get().summary == "reps: time off +1 for alice"
    clash = alice_client.post(
        TIME_OFF,
        {"starts_at": "2027-01-01T00:00:00Z", "ends_at": "2027-01-10T00:00:00Z"},
        format="json",
    )
    assert clash.status_code == 400
    assert clash.json() == {
        "non_field_errors": [
            f"overlaps time off 2026-12-21 00:00 to 2027-01-04 00:00 UTC (id {body['id']})"
        ]
    }
    assert alice_client.post(TIME_OFF, {**PERIOD, "rep": "bob"}, format="json").status_code == 403
    bobs = TimeOffFactory(
        rep=west_org["reps"][1], starts_at="2026-01-01T00:00:00Z", ends_at="2026-01-02T00:00:00Z"
    )
    assert [p["id"] for p in alice_client.get(TIME_OFF).json()["results"]] == [body["id"]]
    assert alice_client.delete(f"{TIME_OFF}{bobs.pk}/").status_code == 404
    assert (
        alice_client.patch(
            f"{TIME_OFF}{body['id']}/", {"reason": "training"}, format="json"
        ).json()["reason"]
        == "training"
    )
    assert alice_client.delete(f"{TIME_OFF}{body['id']}/").status_code == 204
    assert TimeOff.objects.count() == 1
    assert RoutingConfigVersion.objects.count() == 3


def test_manager_time_off_for_anyone_and_bad_input(manager_client, west_org):
    created = manager_client.post(TIME_OFF, {**PERIOD, "rep": "bob"}, format="json")
    assert created.status_code == 201
    assert manager_client.get(TIME_OFF + "?rep=bob").json()["count"] == 1
    bad = manager_client.post(
        TIME_OFF,
        {"rep": "zed", "starts_at": "2026-01-02T00:00:00Z", "ends_at": "2026-01-01T00:00:00Z"},
        format="json",
    )
    assert bad.status_code == 400
    assert bad.json() == {"ends_at": ["must be after starts_at"]}
    unknown = manager_client.post(TIME_OFF, {**PERIOD, "rep": "zed"}, format="json")
    assert unknown.json() == {"rep": ["unknown rep 'zed'"]}
    assert manager_client.post(TIME_OFF, {"rep": "bob"}, format="json").json() == {
        "starts_at": ["This field is required."],
        "ends_at": ["This field is required."],
    }
