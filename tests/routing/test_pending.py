"""route_pending, the safety net: a backlog of `new` leads (the broker was down) drains in
batches of ROUTING_BATCH_SIZE, unrouted leads all get their retry, one bad lead costs only itself."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import DatabaseError, connection, transaction

from apps.leads.models import Lead, LeadStatus
from apps.reps.models import Rep
from apps.routing import tasks
from apps.routing.models import Assignment
from tests.factories import LeadFactory


@pytest.fixture(autouse=True)
def _no_grace(settings):  # type: ignore[no-untyped-def]
    settings.ROUTING_PENDING_GRACE = timedelta(0)
    settings.ROUTING_BATCH_SIZE = 3


def enterprise_lead(**kwargs):  # type: ignore[no-untyped-def]
    return LeadFactory(company_size=5000, country="US", region="US-CA", **kwargs)


def spy_batches(monkeypatch) -> list[list[int]]:  # type: ignore[no-untyped-def]
    batches: list[list[int]] = []
    real = tasks.leads_route

    def spy(*, lead_ids, **kwargs):  # type: ignore[no-untyped-def]
        batches.append(list(lead_ids))
        return real(lead_ids=lead_ids, **kwargs)

    monkeypatch.setattr(tasks, "leads_route", spy)
    return batches


@pytest.mark.django_db
def test_a_backlog_is_routed_in_batches_oldest_first_with_exact_rotation(west_org, monkeypatch):
    leads = [enterprise_lead() for _ in range(7)]
    batches = spy_batches(monkeypatch)

    assert tasks.route_pending() == {"assigned": 7}

    assert batches == [[lead.pk for lead in leads[i : i + 3]] for i in (0, 3, 6)]
    owners = [Lead.objects.get(pk=lead.pk).owner.username for lead in leads]
    assert owners == ["alice", "bob", "carol", "alice", "bob", "carol", "alice"]
    assert Assignment.objects.count() == 7
    counts = dict(Rep.objects.values_list("user__username", "open_leads_count"))
    assert counts == {"alice": 3, "bob": 2, "carol": 2}
    assert tasks.route_pending() == {}


@pytest.mark.django_db
def test_every_unrouted_lead_gets_its_retry_across_runs(west_org, monkeypatch):
    monkeypatch.setattr(tasks, "UNROUTED_RETRY_LIMIT", 2)
    Rep.objects.update(active=False)
    stuck = [enterprise_lead() for _ in range(3)]
    assert tasks.route_pending() == {"unrouted": 3}
    batches = spy_batches(monkeypatch)

    tasks.route_pending()
    tasks.route_pending()

    retried = [lead_id for batch in batches for lead_id in batch]
    assert sorted(set(retried)) == sorted(lead.pk for lead in stuck)  # the third is not starved
    Rep.objects.update(active=True)
    from apps.routing.selectors import config_cache_clear

    config_cache_clear()
    monkeypatch.setattr(tasks, "UNROUTED_RETRY_LIMIT", 500)
    assert tasks.route_pending() == {"assigned": 3}
    assert set(Assignment.objects.values_list("kind", flat=True)) == {"retry"}


@pytest.mark.django_db
def test_a_failing_batch_is_retried_lead_by_lead(west_org, monkeypatch):
    leads = [enterprise_lead() for _ in range(3)]
    bad = leads[1].pk
    real = tasks.leads_route

    def flaky(*, lead_ids, **kwargs):  # type: ignore[no-untyped-def]
        if bad in lead_ids:
            raise DatabaseError("boom")
        return real(lead_ids=lead_ids, **kwargs)

    monkeypatch.setattr(tasks, "leads_route", flaky)

    assert tasks.route_pending() == {"assigned": 2, "error": 1}
    assert Lead.objects.get(pk=bad).status == LeadStatus.NEW  # the next run tries it again
    assert not Assignment.objects.filter(lead_id=bad).exists()


@pytest.mark.django_db
def test_a_copy_in_the_backlog_follows_its_original(west_org):
    original = enterprise_lead(email="same@acme.com")
    copy = enterprise_lead(email="same@acme.com")
    other = enterprise_lead()

    assert tasks.route_pending() == {"assigned": 2, "duplicate": 1}

    copy.refresh_from_db()
    original.refresh_from_db()
    assert copy.status == LeadStatus.DUPLICATE
    assert copy.duplicate_of_id == original.pk
    assert copy.owner_id == original.owner_id
    assert Lead.objects.get(pk=other.pk).status == LeadStatus.ASSIGNED


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_lead_another_transaction_holds_is_skipped_not_waited_for(west_org):
    held, free = enterprise_lead(), enterprise_lead()
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                Lead.objects.select_for_update().get(pk=held.pk)
                locked.set()
                release.wait(30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert locked.wait(10)
        assert tasks.route_pending() == {"assigned": 1, "skipped": 1}
    finally:
        release.set()
        holder.join()
    assert Lead.objects.get(pk=free.pk).status == LeadStatus.ASSIGNED
    assert Lead.objects.get(pk=held.pk).status == LeadStatus.NEW
    assert tasks.route_pending() == {"assigned": 1}
