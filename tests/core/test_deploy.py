"""Deployed behind a TLS proxy: HTTPS redirect, plain-HTTP health checks, collected static files."""

from __future__ import annotations

import re
from unittest import mock

import pytest

from apps.core import views

pytestmark = pytest.mark.django_db


@pytest.fixture
def https_only(settings):  # type: ignore[no-untyped-def]
    """Production's HTTPS redirect (the suite's settings turn it off for the plain-HTTP client)."""
    settings.SECURE_SSL_REDIRECT = True
    return settings


def test_healthz_answers_plain_http_while_everything_else_redirects(client, https_only):
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.json()["status"] == "ok"

    api = client.get("/api/leads/")
    assert api.status_code == 301
    assert api["Location"] == "https://testserver/api/leads/"
    admin = client.get("/admin/login/")
    assert admin.status_code == 301
    assert admin["Location"].startswith("https://")


def test_healthz_reports_an_outage_over_plain_http_too(client, https_only):
    with mock.patch.object(views, "_database_state", return_value="down: OperationalError"):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "down: OperationalError"


def test_healthz_answers_a_probe_by_instance_address(client, https_only):
    # Orchestrators probe the instance by its IP, which is not an allowed host: the probe is
    # answered, while any other page refuses that host as Django does.
    probe = client.get("/healthz", HTTP_HOST="10.0.3.7:8000")
    assert probe.status_code == 200
    assert probe.json()["status"] == "ok"
    assert client.get("/api/leads/", HTTP_HOST="10.0.3.7:8000").status_code == 400


def test_the_proxy_header_counts_only_when_configured(client, https_only):
    # Not behind a proxy that sets it: a client's own X-Forwarded-Proto must not pass for TLS.
    assert not hasattr(https_only, "SECURE_PROXY_SSL_HEADER") or (
        https_only.SECURE_PROXY_SSL_HEADER is None
    )
    response = client.get("/api/leads/", headers={"x-forwarded-proto": "https"})
    assert response.status_code == 301

    # DJANGO_SECURE_PROXY_SSL_HEADER=1: the proxy terminated TLS, so no redirect.
    https_only.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    response = client.get("/api/leads/", headers={"x-forwarded-proto": "https"})
    assert response.status_code in (401, 403)  # the API itself answered: no login
    assert "Strict-Transport-Security" in response.headers


def test_admin_login_page_is_served_with_its_collected_css(client):
    # DEBUG off, as deployed: the page names the hashed file from collectstatic's manifest and
    # whitenoise serves it, compressed and cacheable for a year, from STATIC_ROOT.
    page = client.get("/admin/login/")
    assert page.status_code == 200
    css = re.search(r'href="(/static/admin/css/base\.[0-9a-f]{12}\.css)"', page.content.decode())
    assert css is not None, "the login page should link the hashed admin stylesheet"

    response = client.get(css.group(1), headers={"accept-encoding": "gzip"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")
    assert response["Content-Encoding"] == "gzip"
    assert "immutable" in response["Cache-Control"]
    assert int(re.search(r"max-age=(\d+)", response["Cache-Control"]).group(1)) >= 31536000
