"""Health check and the landing page."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET


def _database_state() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "down" here
        return f"down: {exc.__class__.__name__}"
    return "ok"


def _broker_state() -> str:
    from routing_portal.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        return f"down: {exc.__class__.__name__}"
    return "ok"


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database and the broker answer; 503 when either is down."""
    database = _database_state()
    broker = _broker_state()
    healthy = database == "ok" and broker == "ok"
    return JsonResponse(
        {
            "status": "ok" if healthy else "unavailable",
            "database": database,
            "broker": broker,
            "broker_transport": settings.CELERY_BROKER_URL.split(":", 1)[0],
        },
        status=200 if healthy else 503,
    )


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return redirect("admin:index")
