"""Who may use the audit: managers only, on every page, form and endpoint. Anonymous visitors
go to the sign-in page (pages) or get 401 (API); reps and integration accounts get 403, and
their POSTs change nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from apps.audit.models import AuditSignOff
from apps.configuration.models import RoutingConfigVersion
from apps.configuration.services import routing_config_apply
from tests.audit.conftest import V1
from tests.factories import RepFactory, UserFactory

pytestmark = pytest.mark.django_db

WINDOW = "start=2026-04-01&end=2026-06-30"
GETS = [
    f"/audit/?{WINDOW}",
    "/audit/versions/",
    "/audit/versions/diff/?from=1",
    f"/api/audit/rules/?{WINDOW}",
    f"/api/audit/rules/?format=csv&{WINDOW}",
    "/api/audit/versions/diff/?from=1",
    f"/api/audit/sign-offs/?{WINDOW}",
]
POSTS: list[tuple[str, dict[str, Any]]] = [
    ("/audit/sign-off/", {"start": "2026-04-01", "end": "2026-06-30", "notes": "ok"}),
    ("/audit/versions/1/restore/", {"based_on_version": 1}),
    ("/api/audit/sign-offs/", {"start": "2026-04-01", "end": "2026-06-30", "notes": "ok"}),
    ("/api/audit/versions/1/restore/", {"based_on_version": 1}),
]


@pytest.fixture(autouse=True)
def version(boss) -> RoutingConfigVersion:  # type: ignore[no-untyped-def]
    return routing_config_apply(document=V1, actor=boss, source="api")


def _nothing_written() -> None:
    assert AuditSignOff.objects.count() == 0
    assert RoutingConfigVersion.objects.count() == 1


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("path", GETS)
def test_anonymous_get(path: str) -> None:
    response = Client().get(path)
    if path.startswith("/api/"):
        assert response.status_code == 401
    else:
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(("path", "data"), POSTS)
def test_anonymous_post(path: str, data: dict[str, Any]) -> None:
    response = Client().post(path, data)
    assert response.status_code == (401 if path.startswith("/api/") else 302)
    _nothing_written()


@pytest.mark.parametrize("path", GETS)
def test_a_rep_is_refused(path: str) -> None:
    assert _client(RepFactory(user=UserFactory(username="rita")).user).get(path).status_code == 403


@pytest.mark.parametrize(("path", "data"), POSTS)
def test_a_rep_cannot_post(path: str, data: dict[str, Any]) -> None:
    client = _client(RepFactory(user=UserFactory(username="rita")).user)
    assert client.post(path, data).status_code == 403
    _nothing_written()


@pytest.mark.parametrize("path", GETS)
def test_an_integration_account_is_refused(path: str, webform) -> None:  # type: ignore[no-untyped-def]
    assert _client(webform).get(path).status_code == 403


@pytest.mark.parametrize(("path", "data"), POSTS)
def test_an_integration_account_cannot_post(path: str, data: dict[str, Any], webform) -> None:  # type: ignore[no-untyped-def]
    assert _client(webform).post(path, data).status_code == 403
    _nothing_written()


def test_integration_token_is_refused(webform) -> None:  # type: ignore[no-untyped-def]
    token = Token.objects.create(user=webform)
    response = Client().get(f"/api/audit/rules/?{WINDOW}", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 403


@pytest.mark.parametrize("path", GETS)
def test_a_manager_may(path: str, boss) -> None:  # type: ignore[no-untyped-def]
    assert _client(boss).get(path).status_code == 200


def test_manager_token(boss) -> None:  # type: ignore[no-untyped-def]
    token = Token.objects.create(user=boss)
    response = Client().get(f"/api/audit/rules/?{WINDOW}", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 200


def test_managers_see_the_audit_link_reps_do_not(boss) -> None:  # type: ignore[no-untyped-def]
    assert 'href="/audit/"' in _client(boss).get("/audit/versions/").content.decode()
    rep = _client(RepFactory(user=UserFactory(username="rita")).user)
    assert "/audit/" not in rep.get("/queue/").content.decode()
