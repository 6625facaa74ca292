"""Territory CRUD: shapes, validation through the whole document, permissions, versions."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.configuration.models import RoutingConfigVersion
from apps.territories.models import Territory
from tests.factories import TerritoryFactory

URL = "/api/territories/"


@pytest.fixture
def rep_client(west_org):
    client = APIClient()
    client.force_authenticate(west_org["reps"][0].user)
    return client


def test_list_and_detail_in_document_shape(manager_client, west_org):
    response = manager_client.get(URL)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert body["results"][1] == {
        "code": "US-WEST",
        "name": "US West",
        "parent": "AMER",
        "countries": [],
        "regions": ["US-CA", "US-WA"],
        "postal_prefixes": [],
    }
    assert manager_client.get(URL + "US-WEST/").json()["parent"] == "AMER"
    assert manager_client.get(URL + "?parent=AMER").json()["count"] == 1
    assert manager_client.get(URL + "?search=west").json()["count"] == 1


def test_create_update_delete_record_versions(manager_client, west_org):
    created = manager_client.post(
        URL,
        {
            "code": "US-EAST",
            "name": "US East",
            "parent": "AMER",
            "regions": ["US-NY"],
            "postal_prefixes": ["10 "],
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert created.json()["postal_prefixes"] == ["10"]
    patched = manager_client.patch(URL + "US-EAST/", {"name": "East coast"}, format="json")
    assert patched.status_code == 200
    assert patched.json()["name"] == "East coast"
    put = manager_client.put(
        URL + "US-EAST/", {"code": "US-EAST", "name": "East", "countries": ["US"]}, format="json"
    )
    assert put.json()["parent"] is None and put.json()["countries"] == ["US"]
    assert manager_client.delete(URL + "US-EAST/").status_code == 204
    assert not Territory.objects.filter(code="US-EAST").exists()
    versions = list(
        RoutingConfigVersion.objects.order_by("number").values_list("source", "summary")
    )
    assert versions == [
        ("api", "territories: +1 ~0 -0"),
        ("api", "territories: +0 ~1 -0"),
        ("api", "territories: +0 ~1 -0"),
        ("api", "territories: +0 ~0 -1"),
    ]


def test_bad_input_is_400_by_field(manager_client, west_org):
    response = manager_client.post(
        URL, {"code": "eu", "name": "", "countries": ["XX"], "colour": 1}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "code": ["Use 1-40 upper-case letters, digits, '-' or '_' (e.g. US-WEST)."],
        "name": ["This field may not be blank."],
        "countries": {"0": ["'XX' is not an ISO 3166-1 alpha-2 code."]},
        "colour": ["unknown field 'colour'"],
    }
    dup = manager_client.post(URL, {"code": "AMER", "name": "again"}, format="json")
    assert dup.json() == {"code": ["'AMER' already exists."]}
    orphan = manager_client.post(URL, {"code": "X", "name": "x", "parent": "NOPE"}, format="json")
    assert orphan.json() == {"parent": ["unknown parent territory 'NOPE'"]}
    assert manager_client.patch(URL + "AMER/", {"code": "AM"}, format="json").json() == {
        "code": ["the code cannot be changed; create a new one"]
    }


def test_cycle_through_patch_is_400(manager_client, west_org):
    response = manager_client.patch(URL + "AMER/", {"parent": "US-WEST"}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "parent": ["parent cycle: AMER -> US-WEST -> AMER"],
        "non_field_errors": [
            "territories 'US-WEST'.parent: parent cycle: US-WEST -> AMER -> US-WEST"
        ],
    }
    assert Territory.objects.get(code="AMER").parent is None


def test_delete_in_use_is_400_with_who_uses_it(manager_client, west_org):
    response = manager_client.delete(URL + "US-WEST/")
    assert response.status_code == 400
    messages = response.json()["non_field_errors"]
    assert (
        "'US-WEST' is still in use: reps 'alice'.territories: unknown territory 'US-WEST'"
        in messages
    )
    assert (
        "'US-WEST' is still in use: rules 'Enterprise West'.conditions: unknown territory 'US-WEST'"
        in messages
    )
    assert Territory.objects.filter(code="US-WEST").exists()
    assert manager_client.delete(URL + "AMER/").status_code == 400


def test_permissions(rep_client, west_org):
    assert APIClient().get(URL).status_code == 401
    assert APIClient().post(URL, {}, format="json").status_code == 401
    assert rep_client.get(URL).status_code == 200
    assert rep_client.post(URL, {"code": "X", "name": "x"}, format="json").status_code == 403
    assert rep_client.patch(URL + "AMER/", {"name": "x"}, format="json").status_code == 403
    assert rep_client.delete(URL + "AMER/").status_code == 403
    assert RoutingConfigVersion.objects.count() == 0


@pytest.mark.parametrize("rows", [5, 120])
def test_list_query_count_does_not_grow(manager_client, db, rows, django_assert_max_num_queries):
    parent = TerritoryFactory(code="ROOT")
    for i in range(rows):
        TerritoryFactory(code=f"T{i}", parent=parent)
    with django_assert_max_num_queries(4):
        response = manager_client.get(URL + "?page_size=500")
    assert response.json()["count"] == rows + 1
