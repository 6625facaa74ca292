"""Several processes routing into one hot rule at once, on PostgreSQL row locks."""

from __future__ import annotations

import multiprocessing
from collections import Counter

import pytest
from django.db import connections

from apps.leads.models import Lead
from apps.routing.models import Assignment, RotationState
from tests.factories import LeadFactory

PROCESSES = 4
LEADS = 120


def _route_chunk(lead_ids: list[int], start: multiprocessing.synchronize.Event, batch: int) -> None:  # type: ignore[name-defined]
    from apps.routing.services import lead_route

    start.wait(timeout=30)
    try:
        for lead_id in lead_ids:
            lead_route(lead_id=lead_id, batch=batch)
    finally:
        connections.close_all()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("batch", [1, 7], ids=["one-by-one", "batches"])
def test_processes_racing_on_one_rule_never_double_assign_and_rotate_exactly(west_org, batch):
    """With batches, each process also takes waiting leads the others may be reaching for."""
    lead_ids = [
        LeadFactory(company_size=5000, country="US", region="US-CA").pk for _ in range(LEADS)
    ]
    # Every lead routed by two processes at once as well: the same lead delivered twice.
    chunks = [lead_ids[i::PROCESSES] for i in range(PROCESSES)]
    chunks += [list(reversed(chunk)) for chunk in chunks[:2]]
    connections.close_all()
    ctx = multiprocessing.get_context("fork")
    start = ctx.Event()
    workers = [ctx.Process(target=_route_chunk, args=(chunk, start, batch)) for chunk in chunks]
    for worker in workers:
        worker.start()
    start.set()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0

    assert Assignment.objects.count() == LEADS
    assert Lead.objects.filter(status="assigned").count() == LEADS
    per_lead = Counter(Assignment.objects.values_list("lead_id", flat=True))
    assert set(per_lead.values()) == {1}
    per_rep = Counter(Assignment.objects.values_list("rep__user__username", flat=True))
    assert per_rep == {"alice": 40, "bob": 40, "carol": 40}
    state = RotationState.objects.get(rule=west_org["enterprise"])
    assert state.assignments == LEADS


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_manual_reassign_and_a_sweep_queue_instead_of_deadlocking(west_org, monkeypatch):
    """The reassign locks the new rep and the previous owner in id order, as the sweep locks
    every rep: paused between its locks and the release, it makes the sweep wait, not fail."""
    import threading
    import time
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone

    from apps.reps.models import Rep
    from apps.routing import reassign, services
    from apps.routing.sla import sla_sweep

    t0 = timezone.now().replace(microsecond=0) - timedelta(days=1)
    leads = [
        LeadFactory(company_size=5000, country="US", region="US-CA", created_at=t0)
        for _ in range(2)
    ]
    for lead in leads:
        services.lead_route(lead_id=lead.pk, now=t0)
    carol = Rep.objects.get(user__username="carol")
    paused, resume = threading.Event(), threading.Event()
    real_start = reassign.assignment_start

    def slow_start(**kwargs):  # type: ignore[no-untyped-def]
        paused.set()  # both reps' rows are locked by now
        resume.wait(10)
        return real_start(**kwargs)

    monkeypatch.setattr(reassign, "assignment_start", slow_start)
    outcome: dict[str, object] = {}

    def run(name: str, work) -> None:  # type: ignore[no-untyped-def]
        try:
            outcome[name] = work()
        except Exception as exc:  # the assertion below names it
            outcome[name] = exc
        finally:
            connection.close()

    later = t0 + timedelta(minutes=31)
    manual = threading.Thread(
        target=run,
        args=(
            "manual",
            lambda: services.lead_reassign(
                lead_id=leads[0].pk, rep=carol, note="knows them", actor=None, now=later
            ),
        ),
    )
    manual.start()
    assert paused.wait(10)
    sweep = threading.Thread(target=run, args=("sweep", lambda: sla_sweep(now=later)))
    sweep.start()
    time.sleep(1.5)  # the sweep is now waiting on a rep row the reassign holds
    resume.set()
    manual.join(30)
    sweep.join(30)
    assert not isinstance(outcome["manual"], Exception), outcome
    assert not isinstance(outcome["sweep"], Exception), outcome
    assert Assignment.objects.filter(lead=leads[0], ended_at__isnull=True).get().rep == carol
    for rep in Rep.objects.all():
        held = Lead.objects.filter(owner=rep, status="assigned").count()
        assert rep.open_leads_count == held
