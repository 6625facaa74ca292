"""Health check and the landing page."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET

from apps.core.health import health_problems


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
    """503 when the database or the broker is down (`unavailable`); 200 otherwise, `degraded`
    with readable `reasons` when a registered check finds a problem (leads waiting `new` too
    long, a configuration that does not compile). Degraded stays 200 on purpose: the web still
    serves and intake still queues leads, so a load balancer must keep sending it traffic;
    monitoring alerts on the status."""
    database = _database_state()
    broker = _broker_state()
    up = database == "ok" and broker == "ok"
    reasons = [f"{name} {state}" for name, state in (("database", database), ("broker", broker))]
    reasons = [reason for reason in reasons if not reason.endswith(" ok")]
    # The apps' checks read the database: run them only when it answers.
    if database == "ok":
        reasons += health_problems()
    status = "unavailable" if not up else "degraded" if reasons else "ok"
    return JsonResponse(
        {
            "status": status,
            "reasons": reasons,
            "database": database,
            "broker": broker,
            "broker_transport": settings.CELERY_BROKER_URL.split(":", 1)[0],
        },
        status=200 if up else 503,
    )


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """Signed-in people go to where their role lands (the pages decide); others sign in."""
    if request.user.is_authenticated:
        return redirect(settings.LOGIN_REDIRECT_URL)
    return redirect(settings.LOGIN_URL)
