"""Mail on assignment and unrouted leads; signed webhooks retried without blocking routing."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from django.utils import timezone

from apps.leads.models import Lead
from apps.notifications.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from apps.notifications.services import (
    unrouted_digest_send,
    webhook_delivery_attempt,
    webhook_event_emit,
    webhook_retry_countdown,
    webhook_signature,
    webhook_signature_verify,
)
from apps.routing.services import lead_route
from routing_portal.celery import app
from tests.factories import LeadFactory


class Receiver:
    """A local HTTP server that answers with the given statuses in turn (then the last one)."""

    def __init__(self, statuses: list[int], reply: bytes = b"ok") -> None:
        self.statuses = statuses
        self.requests: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                index = min(len(receiver.requests) - 1, len(receiver.statuses) - 1)
                self.send_response(receiver.statuses[index])
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver([500, 200])
    yield server
    server.close()


@pytest.fixture
def eager():  # type: ignore[no-untyped-def]
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def test_signature_is_hmac_sha256_of_the_raw_body():
    import hashlib
    import hmac

    body = b'{"a":1}'
    expected = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert webhook_signature(secret="s3cret", body=body) == expected
    assert webhook_signature_verify(secret="s3cret", body=body, signature=expected)
    assert not webhook_signature_verify(secret="other", body=body, signature=expected)


def test_backoff_is_exponential_and_bounded(settings):
    settings.NOTIFY_WEBHOOK_RETRY_BASE_SECONDS = 10
    settings.NOTIFY_WEBHOOK_RETRY_MAX_SECONDS = 100
    assert [webhook_retry_countdown(n) for n in (1, 2, 3, 4, 5, 9)] == [10, 20, 40, 80, 100, 100]


@pytest.mark.django_db
def test_failing_webhook_is_retried_then_delivered_and_the_signature_verifies(
    receiver, django_capture_on_commit_callbacks
):
    endpoint = WebhookEndpoint.objects.create(url=receiver.url, event_types=["lead.escalated"])
    WebhookEndpoint.objects.create(
        url=receiver.url, event_types=["lead.assigned"]
    )  # not subscribed
    with django_capture_on_commit_callbacks(execute=False):
        (delivery_id,) = webhook_event_emit(event_type="lead.escalated", data={"lead": {"id": 7}})

    assert webhook_delivery_attempt(delivery_id=delivery_id) is False
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("pending", 1, 500)
    assert delivery.last_error.startswith("HTTP 500")

    assert webhook_delivery_attempt(delivery_id=delivery_id) is True
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("succeeded", 2, 200)
    assert delivery.last_error == ""
    assert webhook_delivery_attempt(delivery_id=delivery_id) is True  # a redelivered task: no POST
    assert len(receiver.requests) == 2

    headers, body = receiver.requests[-1]
    assert webhook_signature_verify(
        secret=endpoint.secret, body=body, signature=headers["X-Routing-Signature"]
    )
    assert abs(int(headers["X-Routing-Timestamp"]) - time.time()) < 60
    assert headers["X-Routing-Event"] == "lead.escalated"
    envelope = json.loads(body)
    assert envelope["type"] == "lead.escalated"
    assert envelope["data"] == {"lead": {"id": 7}}
    assert envelope["id"] == headers["X-Routing-Delivery"]


@pytest.mark.django_db
def test_a_dead_webhook_never_blocks_routing(
    west_org, settings, eager, django_capture_on_commit_callbacks
):
    settings.NOTIFY_WEBHOOK_MAX_ATTEMPTS = 3
    settings.NOTIFY_WEBHOOK_RETRY_BASE_SECONDS = 0
    settings.NOTIFY_WEBHOOK_TIMEOUT_SECONDS = 0.5
    dead = Receiver([500])
    try:
        WebhookEndpoint.objects.create(url=dead.url, event_types=["lead.assigned"])
        lead = LeadFactory(company_size=5000, country="US", region="US-CA")
        with django_capture_on_commit_callbacks(execute=True):
            result = lead_route(lead_id=lead.pk)
    finally:
        dead.close()
    assert result.outcome == "assigned"
    assert Lead.objects.get(pk=lead.pk).owner.username == "alice"
    delivery = WebhookDelivery.objects.get()
    assert delivery.event_type == "lead.assigned"
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts == 3
    assert delivery.payload["assignment"]["rep"] == "alice"
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]


@pytest.mark.django_db
def test_routing_mails_the_rep_the_key_facts_and_the_reason(
    west_org, eager, django_capture_on_commit_callbacks
):
    lead = LeadFactory(
        company_size=5000, country="US", region="US-CA", company="Big Co", phone="+1 555 0100"
    )
    with django_capture_on_commit_callbacks(execute=True):
        lead_route(lead_id=lead.pk)
    (message,) = mail.outbox
    assert message.to == ["alice@example.com"]
    assert "Big Co" in message.subject
    assert "+1 555 0100" in message.body
    assert "Enterprise West: round robin" in message.body
    html = message.alternatives[0][0]
    assert "<table" in html and "Big Co" in html


@pytest.mark.django_db
def test_unrouted_digest_goes_to_managers_at_most_once_an_hour_per_lead(
    manager_user, eager, django_capture_on_commit_callbacks
):
    from tests.factories import UserFactory

    UserFactory(username="root", is_superuser=True)
    UserFactory(username="noemail", is_superuser=True, email="")
    for _ in range(3):
        lead_route(lead_id=LeadFactory(country="FR").pk)  # no territories, no rules: unrouted
    assert Lead.objects.filter(status="unrouted").count() == 3
    now = timezone.now()
    assert unrouted_digest_send(now=now) == {"leads": 3, "mails": 1}
    (message,) = mail.outbox
    assert sorted(message.to) == ["manager@example.com", "root@example.com"]
    assert "3 leads waiting unrouted" in message.subject
    assert unrouted_digest_send(now=now + timedelta(minutes=15)) == {"leads": 0, "mails": 0}
    lead_route(lead_id=LeadFactory(country="FR").pk)
    assert unrouted_digest_send(now=now + timedelta(minutes=30))["leads"] == 1
    assert unrouted_digest_send(now=now + timedelta(minutes=61))["leads"] == 3
    assert len(mail.outbox) == 3


@pytest.mark.django_db
def test_the_digest_lists_leads_stuck_new(manager_user, eager, settings):
    settings.ROUTING_HEALTH_NEW_LEAD_MINUTES = 5
    now = timezone.now()
    stuck = LeadFactory(email="stuck@acme.com")
    fresh = LeadFactory(email="fresh@acme.com")
    Lead.objects.filter(pk=stuck.pk).update(created_at=now - timedelta(minutes=9))
    Lead.objects.filter(pk=fresh.pk).update(created_at=now - timedelta(minutes=2))
    assert unrouted_digest_send(now=now) == {"leads": 1, "mails": 1}
    (message,) = mail.outbox
    assert message.subject == "1 lead stuck new over 5 min"
    assert "stuck@acme.com" in message.body
    assert "fresh@acme.com" not in message.body
    assert "routing workers or their scheduler may be down" in message.body
    # Like an unrouted lead, at most once per interval: ten minutes on, only the other one.
    assert unrouted_digest_send(now=now + timedelta(minutes=10)) == {"leads": 1, "mails": 1}
    assert "fresh@acme.com" in mail.outbox[1].body
    assert "stuck@acme.com" not in mail.outbox[1].body


def test_endpoint_rejects_unknown_event_types():
    from django.core.exceptions import ValidationError

    from apps.notifications.models import validate_event_types

    validate_event_types(["lead.assigned", "lead.sla_reminder"])
    with pytest.raises(ValidationError, match=r"lead\.exploded"):
        validate_event_types(["lead.exploded"])


# --- a real worker on Redis ------------------------------------------------------------------


def wait_for(predicate, timeout: float = 30.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_worker_retries_a_failing_webhook_through_the_broker(
    west_org, settings, receiver, live_worker
):
    settings.NOTIFY_WEBHOOK_RETRY_BASE_SECONDS = 0.5
    WebhookEndpoint.objects.create(url=receiver.url, event_types=["lead.assigned"])
    with live_worker("notify"):
        lead = LeadFactory(company_size=5000, country="US", region="US-CA")
        assert lead_route(lead_id=lead.pk).outcome == "assigned"  # commits, then enqueues
        assert wait_for(lambda: WebhookDelivery.objects.filter(status="succeeded").exists())
        assert wait_for(lambda: len(mail.outbox) == 1)
    delivery = WebhookDelivery.objects.get()
    assert delivery.attempts == 2
    assert len(receiver.requests) == 2
    assert mail.outbox[0].to == ["alice@example.com"]


@pytest.mark.django_db
def test_admin_pages_for_endpoints_and_deliveries_open(admin_client):
    from django.urls import reverse

    endpoint = WebhookEndpoint.objects.create(
        url="http://127.0.0.1:9/x", event_types=["lead.assigned"]
    )
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint, event_type="lead.assigned", payload={}
    )
    for name, pk in (("webhookendpoint", endpoint.pk), ("webhookdelivery", delivery.pk)):
        assert (
            admin_client.get(reverse(f"admin:notifications_{name}_changelist")).status_code == 200
        )
        assert (
            admin_client.get(reverse(f"admin:notifications_{name}_change", args=[pk])).status_code
            == 200
        )
    assert admin_client.get(reverse("admin:notifications_webhookendpoint_add")).status_code == 200


@pytest.mark.django_db
def test_sla_mails_speak_the_reps_time_and_names_and_escalations_read_as_history(
    west_org, manager_user, eager, django_capture_on_commit_callbacks
):
    from zoneinfo import ZoneInfo

    from apps.reps.models import Rep
    from apps.routing.sla import sla_sweep

    start = timezone.now().replace(microsecond=0) - timedelta(days=1)
    lead = LeadFactory(company_size=5000, country="US", region="US-CA", first_name="Dana")
    with django_capture_on_commit_callbacks(execute=True):
        lead_route(lead_id=lead.pk, now=start)
    lead.refresh_from_db()
    pacific = lead.sla_due_at.astimezone(ZoneInfo("America/Los_Angeles"))
    (assigned,) = mail.outbox
    assert f"Contact before: {pacific:%Y-%m-%d %H:%M} {pacific:%Z}" in assigned.body
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        assert sla_sweep(now=start + timedelta(minutes=15))["reminded"] == 1
    (reminder,) = mail.outbox
    assert reminder.subject.endswith(f"before {pacific:%H:%M %Z}")
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        assert sla_sweep(now=start + timedelta(minutes=30))["reassigned"] == 1
    bob = Rep.objects.get(user__username="bob")
    taken = next(m for m in mail.outbox if m.to == ["alice@example.com"])
    assert taken.subject.startswith(f"Lead moved to {bob.name}:")
    assert f"it now belongs to {bob.name}" in taken.body
    moved_to_bob = next(m for m in mail.outbox if m.to == ["bob@example.com"])
    alice = Rep.objects.get(user__username="alice")
    assert f"moved to you from {alice.name}" in moved_to_bob.body

    for minutes in (60, 90):
        with django_capture_on_commit_callbacks(execute=True):
            sla_sweep(now=start + timedelta(minutes=minutes))
    escalation = mail.outbox[-1]
    assert escalation.subject.endswith("after 2 reassignments")
    assert "(reassigned for inactivity)" in escalation.body
    assert "(reassign_inactivity)" not in escalation.body
    assert "Was due:" in escalation.body and "Contact before" not in escalation.body


@pytest.mark.django_db
def test_a_sweep_escalating_many_leads_sends_managers_one_digest_and_an_event_each(
    west_org, manager_user, eager, django_capture_on_commit_callbacks
):
    from apps.routing.sla import sla_sweep

    start = timezone.now().replace(microsecond=0) - timedelta(days=1)
    endpoint = WebhookEndpoint.objects.create(
        url="http://127.0.0.1:9/hook", event_types=["lead.escalated"]
    )
    leads = [LeadFactory(company_size=5000, country="US", region="US-CA") for _ in range(3)]
    with django_capture_on_commit_callbacks(execute=True):
        for lead in leads:
            lead_route(lead_id=lead.pk, now=start)
    Lead.objects.update(reassignment_count=2)
    mail.outbox.clear()
    from unittest import mock

    from apps.notifications import tasks

    with (
        mock.patch.object(tasks.webhook_deliver, "apply_async"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert sla_sweep(now=start + timedelta(minutes=30))["escalated"] == 3

    (digest,) = mail.outbox
    assert digest.to == ["manager@example.com"]
    assert digest.subject.startswith("3 leads escalated")
    for lead in leads:
        assert f"#{lead.pk} " in digest.body
    deliveries = WebhookDelivery.objects.filter(endpoint=endpoint, event_type="lead.escalated")
    assert sorted(d.payload["lead"]["id"] for d in deliveries) == sorted(lead.pk for lead in leads)
