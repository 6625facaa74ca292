"""GET /healthz: the state of the database and the broker; 503 if either is down."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.db import OperationalError, connection
from kombu import Connection

from apps.core import views

pytestmark = pytest.mark.django_db


def test_healthy(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["broker"] == "ok"


def test_database_down_is_503(client):
    with mock.patch.object(connection, "cursor", side_effect=OperationalError("refused")):
        response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["database"].startswith("down")
    assert body["database"] == "down: OperationalError"
    assert body["broker"] == "ok"


def test_broker_unreachable_is_503(client):
    from routing_portal.celery import app

    # Nothing listens on port 1: a real connection attempt that fails fast.
    closed = Connection("redis://127.0.0.1:1/0", connect_timeout=1)
    with mock.patch.object(app, "connection_for_write", return_value=closed):
        response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["database"] == "ok"
    assert body["broker"].startswith("down")


def test_both_down(client):
    with (
        mock.patch.object(views, "_database_state", return_value="down: OperationalError"),
        mock.patch.object(views, "_broker_state", return_value="down: OperationalError"),
    ):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "down: OperationalError"


def test_needs_no_login_and_only_get(client):
    assert client.post("/healthz").status_code == 405


def _waiting_new(minutes: float):  # type: ignore[no-untyped-def]
    from django.utils import timezone

    from apps.leads.models import Lead
    from tests.factories import LeadFactory

    lead = LeadFactory()
    Lead.objects.filter(pk=lead.pk).update(created_at=timezone.now() - timedelta(minutes=minutes))
    return lead


def test_leads_waiting_new_too_long_degrade_but_stay_200(client, settings):
    settings.ROUTING_HEALTH_NEW_LEAD_MINUTES = 5
    _waiting_new(1)  # just arrived: its task routes it any moment
    assert client.get("/healthz").json() == {
        "status": "ok",
        "reasons": [],
        "database": "ok",
        "broker": "ok",
        "broker_transport": settings.CELERY_BROKER_URL.split(":", 1)[0],
    }
    _waiting_new(7)
    _waiting_new(12)
    response = client.get("/healthz")
    assert response.status_code == 200  # the web still serves: load balancers keep it
    body = response.json()
    assert body["status"] == "degraded"
    (reason,) = body["reasons"]
    assert reason.startswith("2 leads waiting new for more than 5 min (oldest since ")
    settings.ROUTING_HEALTH_NEW_LEAD_MINUTES = 15
    assert client.get("/healthz").json()["status"] == "ok"


def test_a_failing_check_degrades_instead_of_answering_500(client):
    from apps.core.health import _checks, health_check_register

    def broken() -> list[str]:
        raise RuntimeError("bug")

    saved = dict(_checks)
    health_check_register("broken", broken)
    try:
        response = client.get("/healthz")
    finally:
        _checks.clear()
        _checks.update(saved)
    assert response.status_code == 200
    assert response.json()["reasons"] == ["broken: the check itself failed (RuntimeError)"]


def test_down_is_503_with_the_reason_even_when_degraded(client, settings):
    _waiting_new(60)
    with mock.patch.object(views, "_broker_state", return_value="down: OperationalError"):
        response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["reasons"][0] == "broker down: OperationalError"
    assert "waiting new" in body["reasons"][1]
