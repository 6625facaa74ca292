"""Account CRUD by domain."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import Account
from apps.configuration.models import RoutingConfigVersion
from tests.factories import AccountFactory

URL = "/api/accounts/"


def test_crud_by_domain(manager_client, west_org):
    created = manager_client.post(
        URL, {"domain": "Acme.COM", "name": "Acme", "owner": "alice"}, format="json"
    )
    assert created.status_code == 201, created.json()
    assert created.json() == {"domain": "acme.com", "name": "Acme", "owner": "alice"}
    assert manager_client.get(URL + "acme.com/").json()["owner"] == "alice"
    assert manager_client.get(URL + "?owner=alice").json()["count"] == 1
    patched = manager_client.patch(URL + "acme.com/", {"owner": None}, format="json")
    assert patched.json()["owner"] is None
    assert manager_client.delete(URL + "acme.com/").status_code == 204
    assert not Account.objects.exists()
    assert RoutingConfigVersion.objects.count() == 3


def test_bad_input(manager_client, west_org):
    response = manager_client.post(
        URL, {"domain": "not a domain", "name": "x", "owner": "zed"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"domain": ["Enter a lower-case domain such as acme.com."]}
    response = manager_client.post(
        URL, {"domain": "x.com", "name": "x", "owner": "zed"}, format="json"
    )
    assert response.json() == {"owner": ["unknown rep 'zed'"]}
    AccountFactory(domain="y.com")
    assert manager_client.post(URL, {"domain": "y.com", "name": "y"}, format="json").json() == {
        "domain": ["'y.com' already exists."]
    }


def test_permissions(west_org):
    AccountFactory(domain="y.com")
    rep = APIClient()
    rep.force_authenticate(west_org["reps"][0].user)
    assert APIClient().get(URL).status_code == 401
    assert rep.get(URL).status_code == 200
    assert rep.post(URL, {"domain": "z.com", "name": "z"}, format="json").status_code == 403
    assert rep.delete(URL + "y.com/").status_code == 403


@pytest.mark.parametrize("rows", [5, 150])
def test_list_query_count(manager_client, west_org, rows, django_assert_max_num_queries):
    for i in range(rows):
        AccountFactory(owner=west_org["reps"][i % 3])
    with django_assert_max_num_queries(4):
        assert manager_client.get(URL + "?page_size=500").json()["count"] == rows
