"""Who may open the dashboards: managers only, on the page and its JSON twin."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from tests.dashboards.conftest import API, URL
from tests.factories import RepFactory, UserFactory

pytestmark = pytest.mark.django_db

PATHS = [URL, API, "/dashboards/response-time/daily.csv", "/api/dashboards/health/"]


@pytest.mark.parametrize("path", PATHS)
def test_anonymous(path: str) -> None:
    response = Client().get(path)
    if path.startswith("/api/"):
        assert response.status_code == 401
    else:
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("path", PATHS)
def test_a_rep_is_refused(path: str) -> None:
    client = Client()
    client.force_login(RepFactory(user=UserFactory(username="rita")).user)
    assert client.get(path).status_code == 403


@pytest.mark.parametrize("path", PATHS)
def test_an_integration_account_is_refused(path: str, webform) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(webform)
    assert client.get(path).status_code == 403


def test_integration_token_is_refused(webform) -> None:  # type: ignore[no-untyped-def]
    token = Token.objects.create(user=webform)
    assert Client().get(API, HTTP_AUTHORIZATION=f"Token {token.key}").status_code == 403


@pytest.mark.parametrize("path", PATHS)
def test_a_manager_may(path: str, boss_client) -> None:  # type: ignore[no-untyped-def]
    assert boss_client.get(path).status_code == 200


def test_manager_token(boss) -> None:  # type: ignore[no-untyped-def]
    token = Token.objects.create(user=boss)
    assert Client().get(API, HTTP_AUTHORIZATION=f"Token {token.key}").status_code == 200


def test_a_rep_sees_no_dashboards_link() -> None:
    client = Client()
    client.force_login(RepFactory(user=UserFactory(username="rita")).user)
    assert "/dashboards/" not in client.get("/queue/").content.decode()


def test_the_json_twin_is_in_the_openapi_schema(boss_client) -> None:  # type: ignore[no-untyped-def]
    schema = boss_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/api/dashboards/response-time/"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"preset", "start", "end", "rep"}
