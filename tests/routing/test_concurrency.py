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
