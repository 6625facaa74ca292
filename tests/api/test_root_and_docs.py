"""`/api/` lists the main endpoints per role; `/api/docs/` is served from the portal alone (#14)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

ALL = [
    "leads",
    "rules",
    "territories",
    "reps",
    "accounts",
    "time_off",
    "routing_simulate",
    "routing_config",
    "routing_versions",
    "dashboard_response_time",
]
READERS = ["leads", "rules", "territories", "reps", "accounts", "time_off"]


def _client(user=None) -> APIClient:  # type: ignore[no-untyped-def]
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("manager", ALL),
        ("rep", READERS),
        ("integration", ["leads"]),
        ("anonymous", ALL),
    ],
)
def test_api_root_links_the_endpoints_each_role_may_use(role, expected, boss, webform, west_org):
    user = {"manager": boss, "rep": west_org["reps"][0].user, "integration": webform}.get(role)
    response = _client(user).get("/api/")
    assert response.status_code == 200
    body = response.json()
    assert body["docs"] == "http://testserver/api/docs/"
    assert body["schema"] == "http://testserver/api/schema/"
    assert list(body["endpoints"]) == expected
    assert body["endpoints"]["leads"] == "http://testserver/api/leads/"


def test_every_root_link_answers_the_manager(boss):
    client = _client(boss)
    for name, url in client.get("/api/").json()["endpoints"].items():
        path = urlsplit(url).path
        assert client.get(path).status_code in (200, 405), name  # simulate is POST only


def test_a_rep_can_use_every_link_they_are_given(west_org):
    client = _client(west_org["reps"][0].user)
    for name, url in client.get("/api/").json()["endpoints"].items():
        assert client.get(urlsplit(url).path).status_code == 200, name


def _asset_urls(html: str) -> list[str]:
    return re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html) + re.findall(
        r"""url\(\s*["']?([^"')]+)""", html
    )


def test_api_docs_load_swagger_ui_from_this_site_only(client):
    # DEBUG off with collected static files, as deployed (tests/conftest.py collects them)
    page = client.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assets = _asset_urls(html)
    assert any("swagger-ui-bundle" in url for url in assets)
    for url in assets:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc, f"{url} loads from another host"
    for script in re.findall(r"<script[^>]*>(.*?)</script>", html, re.S):
        assert not re.search(r"https?://", script), "inline script names another host"
    # every asset the page names is served, hashed, by whitenoise
    for url in assets:
        if url.startswith("/static/"):
            assert re.search(r"\.[0-9a-f]{12}\.", url), f"{url} is not the collected file"
            assert client.get(url).status_code == 200, url
    assert "/api/schema/" in html
    assert '"validatorUrl": null' in html  # Swagger UI would otherwise ask validator.swagger.io


def test_the_schema_the_docs_read_is_served(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/leads/{id}/" in schema.content
    assert b"LeadDecision" in schema.content
