"""What a route_lead task costs the database: a fixed number of statements for a batch, none
for a lead its process routed with another lead's batch, one for a lead another process routed,
and no per-task health check (its first statement reconnects a connection that died)."""

from __future__ import annotations

import psycopg
import pytest
from celery import signals
from django.db import connection, connections
from django.db.backends.signals import connection_created
from django.test.utils import CaptureQueriesContext

from apps.leads.models import Lead
from apps.routing import settled
from apps.routing.models import Assignment
from apps.routing.settled import SettledLeads, settled_leads
from apps.routing.tasks import route_lead, route_pending
from tests.factories import LeadFactory


def _waiting(n: int, tag: str = "w") -> list[Lead]:
    return [
        LeadFactory(email=f"{tag}{i}@acme{i}.com", company_size=5000, country="US", region="US-CA")
        for i in range(n)
    ]


def _batch_statements(size: int, capture, tag: str) -> tuple[int, list[Lead]]:  # type: ignore[no-untyped-def]
    leads = _waiting(size, tag)
    with capture(execute=True), CaptureQueriesContext(connection) as queries:
        assert route_lead(leads[-1].pk) == "assigned"
    # The test's own transaction turns the task's into a savepoint: not the task's statements.
    return len([q for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]), leads


@pytest.mark.django_db
def test_a_batch_costs_the_same_statements_whatever_its_size_and_its_leads_tasks_none(
    west_org, settings, eager_tasks, django_capture_on_commit_callbacks
):
    settings.ROUTING_BATCH_SIZE = 50
    settings.ROUTING_CONFIG_RECHECK_SECONDS = 3600  # as deployed: not once per batch
    _batch_statements(1, django_capture_on_commit_callbacks, "warm")  # compiles, creates rows
    three, _ = _batch_statements(3, django_capture_on_commit_callbacks, "a")
    eight, leads = _batch_statements(8, django_capture_on_commit_callbacks, "b")
    if connection.vendor == "postgresql":
        # (SQLite's ORM writers write some rows one by one: per lead there.)
        assert three == eight  # per batch, not per lead
        # status, the leads' lock (one statement each: the task's lead, then the waiting
        # ones), rotation rows, loads, the picked reps' lock, their limits, the write, the
        # outbox rows.
        assert eight == 9
    # The other leads' own tasks: answered by this process's memory, no statement at all.
    with CaptureQueriesContext(connection) as queries:
        assert [route_lead(lead.pk) for lead in leads[:-1]] == ["noop"] * 7
    assert len(queries) == 0
    # A process that did not route them (here: one that has reconnected since) asks once each.
    connection_created.send(sender=type(connection), connection=connection)
    with CaptureQueriesContext(connection) as queries:
        assert route_lead(leads[0].pk) == "noop"
    assert len(queries) == 1
    assert Assignment.objects.filter(lead__in=leads).count() == 8


@pytest.mark.django_db
def test_leads_of_a_transaction_that_rolls_back_are_not_remembered(west_org, settings):
    """An eager task inside its caller's transaction: remembered only if that commits."""
    settings.ROUTING_BATCH_SIZE = 10
    leads = _waiting(3)
    route_lead(leads[0].pk)  # the test's transaction never commits
    assert not any(lead.pk in settled_leads for lead in leads)


def test_the_memory_is_bounded_in_size_and_time(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [100.0]
    monkeypatch.setattr(settled, "_now", lambda: clock[0])
    memory = SettledLeads(size=3, seconds=10)
    memory.add([1, 2, 3])
    memory.add([4])
    assert [n in memory for n in (1, 2, 3, 4)] == [False, True, True, True]
    clock[0] = 110.5
    assert 4 not in memory and len(memory) == 2


def _prerun(task) -> None:  # type: ignore[no-untyped-def]
    signals.task_prerun.send(sender=task, task_id="t", task=task, args=(), kwargs={})


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_route_lead_skips_the_health_check_and_reconnects_a_connection_that_died(
    west_org, monkeypatch: pytest.MonkeyPatch
):
    """As a worker runs it: no SELECT 1 before the task; the backend killed between two tasks
    (pg_terminate_backend) costs the next task a reconnection, not its lead."""
    first, second = _waiting(2)
    Lead.objects.filter(pk=second.pk).update(status="unrouted")  # routed alone, later
    checks: list[bool] = []
    wrapper = type(connections["default"])
    is_usable = wrapper.is_usable
    monkeypatch.setattr(wrapper, "is_usable", lambda self: checks.append(True) or is_usable(self))
    _prerun(route_lead)
    assert route_lead.run(first.pk) == "assigned"
    assert checks == []  # the reused connection was not checked first

    # Another task still gets Django's health check.
    _prerun(route_pending)
    Lead.objects.count()
    assert checks == [True]

    Lead.objects.filter(pk=second.pk).update(status="new")
    pid = connection.connection.info.backend_pid
    db = connection.settings_dict
    with psycopg.connect(
        host=db["HOST"],
        port=db["PORT"] or 5432,
        user=db["USER"],
        dbname=db["NAME"],
        password=db["PASSWORD"] or None,
        autocommit=True,
    ) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone() == (True,)
    _prerun(route_lead)
    assert route_lead.run(second.pk) == "assigned"
    assert connection.connection.info.backend_pid != pid
    assert Assignment.objects.filter(lead=second).count() == 1
