"""Who may read the routing configuration: the permission matrix, role by role (API.md "Roles").

Reps keep the reads they rely on (rules, territories, named accounts, their own rep record and
time off); an integration account that may only submit leads reads none of it.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from apps.configuration.models import RoutingConfigVersion
from tests.factories import AccountFactory, UserFactory

pytestmark = pytest.mark.django_db

OK, DENIED, ANONYMOUS = 200, 403, 401

#: (method, path, manager, rep, integration); anonymous callers always get 401
MATRIX = [
    ("get", "/api/territories/", OK, OK, DENIED),
    ("get", "/api/territories/US-WEST/", OK, OK, DENIED),
    ("get", "/api/accounts/", OK, OK, DENIED),
    ("get", "/api/accounts/acme.com/", OK, OK, DENIED),
    ("get", "/api/rules/", OK, OK, DENIED),
    ("get", "/api/rules/{rule}/", OK, OK, DENIED),
    ("get", "/api/rules/{rule}/history/", OK, DENIED, DENIED),
    ("get", "/api/reps/", OK, OK, DENIED),
    ("get", "/api/reps/alice/", OK, OK, DENIED),
    ("get", "/api/time-off/", OK, OK, DENIED),
    ("get", "/api/routing/config/", OK, DENIED, DENIED),
    ("get", "/api/routing/versions/", OK, DENIED, DENIED),
    ("get", "/api/routing/versions/1/", OK, DENIED, DENIED),
    ("post", "/api/routing/simulate/", OK, DENIED, DENIED),
]


def _integration_user():  # type: ignore[no-untyped-def]
    user = UserFactory(username="webform")
    user.user_permissions.add(
        Permission.objects.get(codename="add_lead", content_type__app_label="leads")
    )
    return user


@pytest.mark.parametrize("role", ["manager", "rep", "integration", "anonymous"])
@pytest.mark.parametrize(("method", "path", "manager", "rep", "integration"), MATRIX)
def test_configuration_reads_by_role(
    west_org, manager_user, role, method, path, manager, rep, integration
):
    AccountFactory(domain="acme.com", name="Acme", owner=west_org["reps"][0])
    RoutingConfigVersion.objects.create(number=1, document={"version": 1})
    client = APIClient()
    users = {
        "manager": manager_user,
        "rep": west_org["reps"][0].user,  # alice
        "integration": _integration_user(),
        "anonymous": None,
    }
    if users[role] is not None:
        client.force_authenticate(users[role])
    expected = {"manager": manager, "rep": rep, "integration": integration}.get(role, ANONYMOUS)
    url = path.format(rule=west_org["enterprise"].pk)
    body = {"email": "dana@acme.com", "country": "US"} if method == "post" else None
    response = getattr(client, method)(url, body, format="json")
    assert response.status_code == expected, response.content[:300]
    if expected == DENIED and role == "integration":
        assert "rules" not in response.json() and "results" not in response.json()
