"""The notification outbox: owed in the change's transaction, sent once, retried alone, never lost."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import timedelta
from unittest import mock

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone
from kombu.exceptions import OperationalError

from apps.leads.models import Lead
from apps.notifications import dispatch, services, tasks, webhooks
from apps.notifications.models import WebhookDelivery, WebhookEndpoint
from apps.reps.models import Rep
from apps.routing import outbox
from apps.routing.models import OutboxKind, OutboxMessage, OutboxStatus
from apps.routing.services import lead_reassign, lead_route, leads_route
from tests.factories import LeadFactory
from tests.notifications.test_notifications import Receiver


def _kinds(**filters: object) -> list[tuple[str, str]]:
    return sorted(OutboxMessage.objects.filter(**filters).values_list("kind", "status"))


def _make_due() -> None:
    """As if the retry delays had passed (the beat dispatcher runs a while later)."""
    past = timezone.now() - timedelta(seconds=1)
    OutboxMessage.objects.update(next_attempt_at=past)
    WebhookDelivery.objects.update(next_attempt_at=past)


@pytest.mark.django_db
def test_with_the_broker_down_routing_owes_the_notifications_and_the_beat_sends_them(
    west_org, django_capture_on_commit_callbacks
):
    receiver = Receiver([200])
    try:
        WebhookEndpoint.objects.create(url=receiver.url, event_types=["lead.assigned"])
        leads = [LeadFactory(company_size=5000, country="US", region="US-CA") for _ in range(2)]
        Lead.objects.update(created_at=timezone.now() - timedelta(minutes=5))
        with (
            mock.patch.object(tasks.outbox_dispatch, "apply_async", side_effect=OperationalError),
            django_capture_on_commit_callbacks(execute=True),
        ):
            results = leads_route(lead_ids=[lead.pk for lead in leads])  # route_pending's batch
        assert [result.outcome for result in results.values()] == ["assigned", "assigned"]
        assert _kinds() == [
            ("assigned_mail", "pending"),
            ("assigned_mail", "pending"),
            ("assignment_event", "pending"),
            ("assignment_event", "pending"),
        ]
        assert mail.outbox == []

        # The broker is back: beat's run a minute later sends everything, once.
        assert tasks.outbox_dispatch() == {"outbox": 4, "deliveries": 0}
        assert _kinds(status="sent") == _kinds()
        assert sorted(m.to[0] for m in mail.outbox) == ["alice@example.com", "bob@example.com"]
        # The deliveries' own tasks were lost too: the next beat run after their grace posts them.
        assert WebhookDelivery.objects.filter(status="pending").count() == 2
        _make_due()
        assert tasks.outbox_dispatch() == {"outbox": 0, "deliveries": 2}
        assert WebhookDelivery.objects.filter(status="succeeded").count() == 2
        assert len(receiver.requests) == 2
        assert tasks.outbox_dispatch() == {"outbox": 0, "deliveries": 0}
    finally:
        receiver.close()
    assert len(mail.outbox) == 2


@pytest.mark.django_db
def test_a_rolled_back_change_owes_nothing(west_org):
    from django.db import transaction

    lead = LeadFactory(company_size=5000, country="US", region="US-CA")
    with pytest.raises(RuntimeError), transaction.atomic():
        lead_route(lead_id=lead.pk)
        assert OutboxMessage.objects.count() == 2
        raise RuntimeError("the change fails after routing")
    assert not OutboxMessage.objects.exists()


@pytest.mark.django_db
def test_the_same_change_reported_twice_is_owed_once(west_org):
    lead = LeadFactory(company_size=5000, country="US", region="US-CA")
    assignment = lead_route(lead_id=lead.pk).assignment
    notice = (assignment.pk, lead.pk, None, assignment.assigned_at)
    outbox.outbox_write(assignments=[notice])  # a redelivered task writing again
    outbox.outbox_write(escalated=[lead.pk], at=assignment.assigned_at)
    outbox.outbox_write(escalated=[lead.pk], at=assignment.assigned_at)
    assert _kinds() == [
        ("assigned_mail", "pending"),
        ("assignment_event", "pending"),
        ("escalation_event", "pending"),
        ("escalation_mail", "pending"),
    ]


@pytest.mark.django_db
def test_a_failed_taken_away_mail_is_retried_alone_with_backoff(west_org, manager_user):
    lead = LeadFactory(company_size=5000, country="US", region="US-CA")
    lead_route(lead_id=lead.pk)
    bob = Rep.objects.get(user__username="bob")
    lead_reassign(lead_id=lead.pk, rep=bob, note="Knows the account", actor=manager_user)
    services.outbox_dispatch()
    mail.outbox.clear()
    OutboxMessage.objects.all().delete()
    carol = Rep.objects.get(user__username="carol")
    lead_reassign(lead_id=lead.pk, rep=carol, note="Bob is busy", actor=manager_user)
    assert _kinds() == [
        ("assigned_mail", "pending"),
        ("assignment_event", "pending"),
        ("taken_away_mail", "pending"),
    ]
    real = dispatch.mail_send

    def mail_server(**kwargs):  # type: ignore[no-untyped-def]
        if kwargs["template"] == "lead_taken_away":
            raise ConnectionRefusedError("mail server down")
        return real(**kwargs)

    with mock.patch.object(dispatch, "mail_send", side_effect=mail_server):
        before = timezone.now()
        services.outbox_dispatch()
        for _ in range(20):  # a tight loop of dispatchers burns no further attempt
            services.outbox_dispatch()
    taken = OutboxMessage.objects.get(kind=OutboxKind.TAKEN_AWAY_MAIL)
    assert (taken.status, taken.attempts) == ("pending", 1)
    assert "mail server down" in taken.last_error
    assert taken.next_attempt_at >= before + timedelta(seconds=30)
    assert [m.to for m in mail.outbox] == [["carol@example.com"]]

    _make_due()
    services.outbox_dispatch()
    taken.refresh_from_db()
    assert (taken.status, taken.attempts) == ("sent", 2)
    # The new owner's mail was not sent a second time.
    assert [m.to for m in mail.outbox] == [["carol@example.com"], ["bob@example.com"]]
    assert mail.outbox[1].subject.startswith("Lead moved to")


@pytest.mark.django_db
def test_a_mail_that_keeps_failing_is_given_up_after_an_hour_not_seconds(west_org, settings):
    delays = [services.outbox_retry_delay(n) for n in range(1, settings.NOTIFY_OUTBOX_MAX_ATTEMPTS)]
    assert delays[:3] == [timedelta(seconds=30), timedelta(seconds=60), timedelta(seconds=120)]
    assert max(delays) == timedelta(minutes=15)
    assert sum(delays, timedelta()) > timedelta(hours=1)  # outlasts minutes-long outages
    webhook = sum(
        services.webhook_retry_countdown(n) for n in range(1, settings.NOTIFY_WEBHOOK_MAX_ATTEMPTS)
    )
    assert webhook > 3600

    lead = LeadFactory(company_size=5000, country="US", region="US-CA")
    lead_route(lead_id=lead.pk)
    with mock.patch.object(dispatch, "mail_send", side_effect=OSError("down")):
        for _ in range(settings.NOTIFY_OUTBOX_MAX_ATTEMPTS):
            _make_due()
            services.outbox_dispatch()
    row = OutboxMessage.objects.get(kind=OutboxKind.ASSIGNED_MAIL)
    assert (row.status, row.attempts) == ("failed", settings.NOTIFY_OUTBOX_MAX_ATTEMPTS)
    _make_due()
    services.outbox_dispatch()
    row.refresh_from_db()
    assert row.attempts == settings.NOTIFY_OUTBOX_MAX_ATTEMPTS  # given up: left alone


@pytest.mark.django_db
def test_a_database_outage_burns_no_attempt(west_org):
    from django.db import OperationalError as DatabaseDown

    lead = LeadFactory(company_size=5000, country="US", region="US-CA")
    lead_route(lead_id=lead.pk)
    with (
        mock.patch.object(dispatch, "mail_send", side_effect=DatabaseDown("connection lost")),
        mock.patch.object(
            OutboxMessage.objects, "bulk_update", side_effect=DatabaseDown("connection lost")
        ),
        pytest.raises(DatabaseDown),
    ):
        services.outbox_dispatch()
    row = OutboxMessage.objects.get(kind=OutboxKind.ASSIGNED_MAIL)
    assert (row.status, row.attempts, row.last_error) == ("pending", 0, "")


@pytest.mark.django_db
def test_webhook_event_ids_come_from_the_row_and_survive_retries_and_redelivery(west_org):
    receiver = Receiver([500, 200])
    try:
        endpoint = WebhookEndpoint.objects.create(url=receiver.url, event_types=["lead.assigned"])
        lead = LeadFactory(company_size=5000, country="US", region="US-CA")
        lead_route(lead_id=lead.pk)
        services.outbox_dispatch()
        row = OutboxMessage.objects.get(kind=OutboxKind.ASSIGNMENT_EVENT)
        assert row.status == OutboxStatus.SENT
        expected = uuid.uuid5(dispatch._EVENT_NAMESPACE, f"outbox:{row.pk}")
        assert services.outbox_event_id(row) == expected
        # A dispatcher killed after emitting, its row then dispatched again: no second delivery.
        dispatch._assignment_event_send([row])
        delivery = WebhookDelivery.objects.get(endpoint=endpoint)
        assert delivery.event_id == expected
        for _ in range(2):  # fails once, then succeeds
            _make_due()
            services.outbox_dispatch()
    finally:
        receiver.close()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("succeeded", 2)
    ids = {headers["X-Routing-Delivery"] for headers, _ in receiver.requests}
    assert ids == {str(expected)}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_at_once_send_each_notification_once(west_org, monkeypatch):
    monkeypatch.setattr(outbox, "_announce", lambda *args: None)  # no broker: beat runs below
    monkeypatch.setattr(webhooks, "_enqueue", lambda *args: None)
    for _ in range(6):
        lead_route(lead_id=LeadFactory(company_size=5000, country="US", region="US-CA").pk)
    assert OutboxMessage.objects.filter(kind=OutboxKind.ASSIGNED_MAIL).count() == 6
    sent: list[str] = []
    real = dispatch.mail_send

    def slow_mail(**kwargs):  # type: ignore[no-untyped-def]
        time.sleep(0.05)  # the other dispatcher reaches the same rows meanwhile
        sent.append(kwargs["to"][0])
        return real(**kwargs)

    monkeypatch.setattr(dispatch, "mail_send", slow_mail)
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def dispatcher() -> None:
        try:
            start.wait()
            services.outbox_dispatch()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=dispatcher) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(sent) == 6
    assert set(OutboxMessage.objects.values_list("status", "attempts")) == {("sent", 1)}


@pytest.mark.django_db
def test_one_dispatch_per_sweep_page_and_one_row_per_mail_and_event(
    west_org, settings, django_capture_on_commit_callbacks
):
    from apps.routing.sla import sla_sweep

    settings.ROUTING_SWEEP_PAGE_SIZE = 2
    start = timezone.now().replace(microsecond=0) - timedelta(days=1)
    for _ in range(5):
        lead_route(
            lead_id=LeadFactory(company_size=5000, country="US", region="US-CA").pk, now=start
        )
    OutboxMessage.objects.all().delete()
    with (
        mock.patch.object(tasks.outbox_dispatch, "apply_async") as dispatch,
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert sla_sweep(now=start + timedelta(minutes=31))["reassigned"] == 5
    assert dispatch.call_count == 3  # pages of 2, 2, 1
    rows = OutboxMessage.objects.all()
    assert sorted(row.kind for row in rows) == sorted(
        ["assigned_mail", "assignment_event", "taken_away_mail"] * 5
    )
    taken = rows.filter(kind=OutboxKind.TAKEN_AWAY_MAIL)
    assert all(row.rep_id == row.lead.assignments.order_by("id").first().rep_id for row in taken)


@pytest.mark.django_db
def test_the_dispatcher_runs_every_minute_from_beat():
    from django_celery_beat.models import PeriodicTask

    entry = PeriodicTask.objects.get(name="outbox-dispatch")
    assert entry.task == "apps.notifications.tasks.outbox_dispatch"
    assert entry.crontab.minute == "*"


@pytest.mark.django_db
def test_webhook_deliveries_left_pending_are_retried_by_beat():
    receiver = Receiver([200])
    try:
        endpoint = WebhookEndpoint.objects.create(url=receiver.url, event_types=["lead.assigned"])
        stale = WebhookDelivery.objects.create(
            endpoint=endpoint,
            event_type="lead.assigned",
            payload={"lead": {"id": 1}},
            next_attempt_at=timezone.now() - timedelta(hours=2),
        )
        assert tasks.outbox_dispatch() == {"outbox": 0, "deliveries": 1}
    finally:
        receiver.close()
    stale.refresh_from_db()
    assert stale.status == "succeeded"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_row_whose_dispatcher_dies_is_sent_by_the_next_run_once(west_org, monkeypatch):
    from django.db import transaction

    monkeypatch.setattr(outbox, "_announce", lambda *args: None)
    monkeypatch.setattr(webhooks, "_enqueue", lambda *args: None)
    lead_route(lead_id=LeadFactory(company_size=5000, country="US", region="US-CA").pk)
    row = OutboxMessage.objects.get(kind=OutboxKind.ASSIGNED_MAIL)
    claimed, killed = threading.Event(), threading.Event()

    def dying_dispatcher() -> None:
        try:
            with transaction.atomic():
                OutboxMessage.objects.select_for_update().get(pk=row.pk)
                claimed.set()
                killed.wait(timeout=30)
                raise SystemExit  # the process dies before marking the row: nothing commits
        except SystemExit:
            pass
        finally:
            connection.close()

    thread = threading.Thread(target=dying_dispatcher)
    thread.start()
    assert claimed.wait(timeout=30)
    # Meanwhile another dispatcher (beat's) skips the held row and sends the rest.
    assert services.outbox_dispatch() == {"outbox": 1, "deliveries": 0}
    assert mail.outbox == []
    killed.set()
    thread.join()
    # The next run (a minute later, not after the broker's one-hour visibility timeout).
    assert services.outbox_dispatch() == {"outbox": 1, "deliveries": 0}
    assert services.outbox_dispatch() == {"outbox": 0, "deliveries": 0}  # a redelivered task
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("sent", 1)
