"""GET /healthz: the state of the database and the broker; 503 if either is down."""

from __future__ import annotations

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
