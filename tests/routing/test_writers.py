"""The writers (apps.routing.writers): the PostgreSQL one-statement implementation of each kind
of write stores exactly what the ORM implementation stores, and a batch routes exactly as the
same leads routed one by one."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from apps.leads.models import Lead, LeadActivity
from apps.reps.models import Rep
from apps.routing import planning, services
from apps.routing.models import Assignment, RotationState
from apps.routing.selectors import config_cache_clear
from tests.factories import LeadFactory
from tests.routing.conftest import WRITER_PATHS

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def _route_four(pin, single_statement: bool, batch: bool = False) -> list[tuple]:  # type: ignore[no-untyped-def]
    pin(single_statement)
    # alice may hold one open lead: the third enterprise lead must skip her.
    Rep.objects.filter(user__username="alice").update(max_open_leads=1)
    config_cache_clear()
    leads = [
        LeadFactory(
            email=f"w{i}-{single_statement}-{batch}@acme{i}.com",
            company_size=5000,
            country="US",
            region="US-CA",
        )
        for i in range(4)
    ]
    if batch:  # the first lead's call routes all four in one transaction
        batched = services.lead_route(lead_id=leads[0].pk, now=NOW, batch=10)
        assert batched.outcome == "assigned"
        assert not Lead.objects.filter(status="new").exists()
    rows = []
    for lead in leads:
        result = services.lead_route(lead_id=lead.pk, now=NOW) if not batch else batched
        if batch and lead != leads[0]:
            result = services.RouteResult(
                lead=Lead.objects.get(pk=lead.pk),
                outcome="assigned",
                assignment=Assignment.objects.get(lead=lead),
            )
            assert services.lead_route(lead_id=lead.pk, now=NOW).outcome == "noop"
        assert result.outcome == "assigned"
        stored = Lead.objects.get(pk=lead.pk)
        assignment = Assignment.objects.get(lead=lead)
        activity = LeadActivity.objects.get(lead=lead, kind="assigned")
        # The in-memory result matches what was stored.
        assert result.assignment is not None and result.assignment.pk == assignment.pk
        assert (result.lead.owner_id, result.lead.sla_due_at) == (
            stored.owner_id,
            stored.sla_due_at,
        )
        rows.append(
            (
                stored.status,
                stored.owner.username,
                stored.rule.name,
                stored.territory.code,
                stored.assigned_at,
                stored.sla_due_at,
                assignment.rep.username,
                assignment.kind,
                assignment.strategy,
                assignment.reason,
                assignment.trace,
                assignment.assigned_at,
                assignment.ended_at,
                activity.note,
                activity.data["rep"],
                activity.data["assignment"] == assignment.pk,
            )
        )
    counters = list(
        Rep.objects.order_by("user__username").values_list(
            "user__username", "open_leads_count", "assigned_today", "last_assigned_at"
        )
    )
    rotation = RotationState.objects.get(rule__name="Enterprise West")
    return [*rows, counters, (rotation.data, rotation.assignments)]


def _start_over() -> None:
    """The same counters and cursor again (assignments are append-only: the leads stay)."""
    Rep.objects.update(
        open_leads_count=0, assigned_today=0, assigned_today_date=None, last_assigned_at=None
    )
    RotationState.objects.all().delete()


def test_single_statement_and_orm_paths_write_the_same_rows(west_org, pin_writers):
    orm = _route_four(pin_writers, single_statement=False)
    _start_over()
    single = _route_four(pin_writers, single_statement=True)
    assert single == orm
    owners = [row[1] for row in single[:4]]
    assert owners == ["alice", "bob", "carol", "bob"]  # alice full after one: skipped


@pytest.mark.parametrize("single_statement", WRITER_PATHS)
def test_a_batch_writes_what_the_leads_routed_one_by_one_write(
    west_org, pin_writers, single_statement
):
    one_by_one = _route_four(pin_writers, single_statement=False)
    _start_over()
    batched = _route_four(pin_writers, single_statement=single_statement, batch=True)
    assert batched == one_by_one


def test_the_guard_refuses_a_rep_who_filled_up_since_the_decision(west_org, monkeypatch):
    """A concurrent assignment filled alice after the decision: her locked row says so, the
    batch is planned again, and nothing is half-written."""
    alice = Rep.objects.get(user__username="alice")
    Rep.objects.filter(pk=alice.pk).update(max_open_leads=1)
    config_cache_clear()
    real_lock = planning.rotations_lock

    def lock_then_fill(rule_ids):  # type: ignore[no-untyped-def]
        state = real_lock(rule_ids)
        Rep.objects.filter(pk=alice.pk).update(open_leads_count=1)  # "someone else" took one
        return state

    monkeypatch.setattr(planning, "rotations_lock", lock_then_fill)
    lead = LeadFactory(company_size=5000, country="US", region="US-CA")
    result = services.lead_route(lead_id=lead.pk, now=NOW)
    assert result.outcome == "assigned"
    assert result.lead.owner.username == "bob"
    assert Assignment.objects.filter(lead=lead).count() == 1
    assert Rep.objects.get(pk=alice.pk).open_leads_count == 1  # only the concurrent one


def _sweep_scenario(pin, single_statement: bool) -> list[object]:  # type: ignore[no-untyped-def]
    """Route five leads, then sweep: three moves, one escalation, one reminder page; every row
    the sweep wrote, with ids replaced by positions (the two runs get different ids)."""
    from datetime import timedelta

    from apps.routing.sla import sla_sweep

    pin(single_statement)
    config_cache_clear()
    leads = [
        LeadFactory(email=f"s{i}@acme{i}.com", company_size=5000, country="US", region="US-CA")
        for i in range(5)
    ]
    for lead in leads[:4]:
        assert services.lead_route(lead_id=lead.pk, now=NOW).outcome == "assigned"
    Lead.objects.filter(pk=leads[3].pk).update(reassignment_count=2)  # at the limit: escalates
    moved = sla_sweep(now=NOW + timedelta(minutes=31))
    assert services.lead_route(lead_id=leads[4].pk, now=NOW + timedelta(minutes=31)).outcome
    reminded = sla_sweep(now=NOW + timedelta(minutes=47))
    assert (moved["reassigned"], moved["escalated"], reminded["reminded"]) == (3, 1, 4)

    position = {lead.pk: i for i, lead in enumerate(leads)}
    assignment_position = {
        pk: i for i, pk in enumerate(Assignment.objects.order_by("pk").values_list("pk", flat=True))
    }
    rows: list[object] = []
    for lead in Lead.objects.filter(pk__in=position).order_by("pk"):
        rows.append(
            (
                lead.status,
                lead.owner.username,
                lead.rule.name,
                lead.territory.code,
                lead.assigned_at,
                lead.sla_due_at,
                lead.sla_reminded_at,
                lead.reassignment_count,
                lead.escalated_at,
            )
        )
        for assignment in lead.assignments.order_by("pk"):
            rows.append(
                (
                    assignment.rep.username,
                    assignment.rule.name,
                    assignment.rule_name,
                    assignment.strategy,
                    assignment.kind,
                    assignment.reason,
                    assignment.trace,
                    assignment.assigned_at,
                    assignment.ended_at,
                    assignment.config_version_id is not None,
                )
            )
        for activity in lead.activities.order_by("pk"):
            data = dict(activity.data)
            if "assignment" in data:
                data["assignment"] = assignment_position[data["assignment"]]
            rows.append((activity.kind, activity.at, activity.note, data, activity.actor_id))
    rows.append(
        list(
            Rep.objects.order_by("user__username").values_list(
                "user__username",
                "open_leads_count",
                "assigned_today",
                "assigned_today_date",
                "last_assigned_at",
            )
        )
    )
    rows.append(
        list(RotationState.objects.order_by("rule__name").values_list("data", "assignments"))
    )
    return rows


def test_the_sweep_writes_the_same_rows_in_one_statement_as_through_the_orm(west_org, pin_writers):
    from django.db import transaction

    class Undo(Exception):
        pass

    written: dict[bool, list[object]] = {}
    for single_statement in (False, True):
        try:
            with transaction.atomic():
                written[single_statement] = _sweep_scenario(pin_writers, single_statement)
                raise Undo  # start the second run from the same state
        except Undo:
            pass
    assert written[True] == written[False]
    escalated = [row for row in written[True] if isinstance(row, tuple) and row[0] == "escalated"]
    assert len(escalated) == 1


def test_both_counter_writers_store_the_counters_moved_in_memory(west_org):
    from django.db import transaction

    from apps.routing.locking import rep_counters_lock
    from apps.routing.write_counters import OrmCounterWriter, PostgresCounterWriter

    class Undo(Exception):
        pass

    stored = {}
    for writer in (OrmCounterWriter(), PostgresCounterWriter()):
        try:
            with transaction.atomic():
                counters = rep_counters_lock()
                first, second, *_ = sorted(counters)
                counters[first].take(NOW)
                counters[first].take(NOW)
                counters[second].take(NOW)
                counters[second].release()
                writer.write(counters.values())
                stored[type(writer).__name__] = list(
                    Rep.objects.order_by("pk").values_list(
                        "pk",
                        "open_leads_count",
                        "assigned_today",
                        "assigned_today_date",
                        "last_assigned_at",
                    )
                )
                raise Undo  # the second writer starts from the same rows
        except Undo:
            pass
    assert stored["OrmCounterWriter"] == stored["PostgresCounterWriter"]
    assert [row[1:3] for row in stored["OrmCounterWriter"][:2]] == [(2, 2), (0, 1)]
