"""Routing and sweep pages lock only the rows their leads can touch (PostgreSQL row locks).

Two territories, each with its own round-robin rule and two reps, and a load-balanced catch-all
(no rotation row). While one transaction holds the locks of a rule-North lead (routing it, or
sweeping a page of them), work on a South lead completes and work on another North lead waits:
`lock_timeout` turns the wait into an error at once, so a regression fails instead of hanging.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import OperationalError, connection, connections, transaction
from django.utils import timezone

from apps.leads.models import Lead
from apps.reps.models import Rep
from apps.routing.models import Assignment, RotationState
from tests.factories import LeadFactory, RepFactory, RuleFactory, TerritoryFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

LOCK_NOT_AVAILABLE = "55P03"


@pytest.fixture
def two_rules(db):  # type: ignore[no-untyped-def]
    """North (SE) and South (ES): a round-robin rule and two reps each, and a catch-all."""
    rules = {}
    for position, (code, country) in enumerate((("NORTH", "SE"), ("SOUTH", "ES"))):
        territory = TerritoryFactory(code=code, name=code.title(), countries=[country])
        for n in range(2):
            RepFactory(user=UserFactory(username=f"{code.lower()}{n}"), territories=[territory])
        rules[code] = RuleFactory(
            name=f"{code.title()} round robin",
            position=position,
            conditions=[{"field": "territory", "op": "within", "value": code}],
            target={"territory": code},
            strategy="round_robin",
            sla_minutes=30,
        )
    rules["everyone"] = RuleFactory(
        name="Everyone else", position=2, target={"territory": "$lead"}, strategy="load_balanced"
    )
    return rules


def _lead(country: str, **kwargs: Any) -> Lead:
    return LeadFactory(country=country, region="", **kwargs)


def _routed(country: str, at: datetime) -> Lead:
    """A lead routed at `at` (overdue a day later)."""
    from apps.routing.services import lead_route

    lead = _lead(country, created_at=at)
    lead_route(lead_id=lead.pk, now=at)
    lead.refresh_from_db()
    assert lead.status == "assigned"
    return lead


class _Holder:
    """Runs `work` in a thread's transaction and keeps it open (its locks held) until released."""

    def __init__(self, work: Callable[[], object]) -> None:
        self.work = work
        self.held, self.release = threading.Event(), threading.Event()
        self.outcome: object = None
        self.thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        try:
            with transaction.atomic():
                self.outcome = self.work()
                self.held.set()
                self.release.wait(30)
        except Exception as exc:  # the assertions below name it
            self.outcome = exc
        finally:
            self.held.set()
            connection.close()

    def __enter__(self) -> _Holder:
        self.thread.start()
        assert self.held.wait(30)
        assert not isinstance(self.outcome, Exception), self.outcome
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.thread.join(30)
        assert not isinstance(self.outcome, Exception), self.outcome


def _impatient(work: Callable[[], object]) -> object:
    """`work` in a transaction that gives up on any row lock it cannot have within 0.5 s."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '500ms'")
        return work()


def _waits(work: Callable[[], object]) -> None:
    with pytest.raises(OperationalError) as caught:
        _impatient(work)
    assert getattr(caught.value.__cause__, "sqlstate", None) == LOCK_NOT_AVAILABLE


def _route(lead: Lead) -> Callable[[], object]:
    from apps.routing.services import lead_route

    return lambda: lead_route(lead_id=lead.pk)


def _sweep_page(leads: list[Lead], now: datetime) -> Callable[[], dict[int, str]]:
    from apps.routing.sla_pages import leads_reassign_inactive

    return lambda: leads_reassign_inactive(lead_ids=[lead.pk for lead in leads], now=now)


def _assert_counters_match() -> None:
    for rep in Rep.objects.all():
        held = Lead.objects.filter(owner=rep, status="assigned").count()
        assert rep.open_leads_count == held, rep


def test_routing_a_lead_blocks_only_leads_of_its_rule(two_rules):
    north, south, north_again = _lead("SE"), _lead("ES"), _lead("SE")
    with _Holder(_route(north)):
        result = _impatient(_route(south))
        assert result.outcome == "assigned"  # type: ignore[attr-defined]
        _waits(_route(north_again))
    assert _impatient(_route(north_again)).outcome == "assigned"  # type: ignore[attr-defined]
    assert Lead.objects.filter(status="assigned").count() == 3
    assert sorted(Assignment.objects.values_list("rule__name", flat=True)) == [
        "North round robin",
        "North round robin",
        "South round robin",
    ]
    _assert_counters_match()


def test_a_sweep_page_blocks_only_routing_of_its_rules_leads(two_rules):
    t0 = timezone.now().replace(microsecond=0) - timedelta(days=1)
    overdue = [_routed("SE", t0) for _ in range(3)]
    owners = {lead.pk: lead.owner_id for lead in overdue}
    south, north = _lead("ES"), _lead("SE")
    with _Holder(_sweep_page(overdue, timezone.now())) as page:
        assert set(page.outcome.values()) == {"reassigned"}  # type: ignore[attr-defined]
        assert _impatient(_route(south)).outcome == "assigned"  # type: ignore[attr-defined]
        _waits(_route(north))
    assert _impatient(_route(north)).outcome == "assigned"  # type: ignore[attr-defined]
    for lead in Lead.objects.filter(pk__in=owners):
        assert lead.owner_id != owners[lead.pk]
        assert lead.reassignment_count == 1
    _assert_counters_match()


def test_routing_a_lead_blocks_only_sweep_pages_of_its_rules_leads(two_rules):
    t0 = timezone.now().replace(microsecond=0) - timedelta(days=1)
    north_overdue = [_routed("SE", t0) for _ in range(2)]
    south_overdue = [_routed("ES", t0) for _ in range(2)]
    now = timezone.now()
    with _Holder(_route(_lead("SE"))):
        moved = _impatient(_sweep_page(south_overdue, now))
        assert set(moved.values()) == {"reassigned"}  # type: ignore[attr-defined]
        _waits(_sweep_page(north_overdue, now))
    moved = _impatient(_sweep_page(north_overdue, now))
    assert set(moved.values()) == {"reassigned"}  # type: ignore[attr-defined]
    _assert_counters_match()


def _deadlocks() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
        return cursor.fetchone()[0]


def _route_all(lead_ids: list[int], start: Any) -> None:
    from apps.routing.services import lead_route

    start.wait(timeout=30)
    try:
        for lead_id in lead_ids:
            lead_route(lead_id=lead_id, batch=5)
    finally:
        connections.close_all()


def _sweep_repeatedly(now: datetime, start: Any) -> None:
    from apps.routing.sla import sla_sweep

    start.wait(timeout=30)
    try:
        for _ in range(3):
            sla_sweep(now=now, batch_size=4)
    finally:
        connections.close_all()


def test_mixed_routing_and_sweeps_on_several_rules_never_deadlock(two_rules):
    """Three processes route new leads of both rules in batches while two sweep overdue leads of
    both rules in small pages: no deadlock, every lead assigned once, every overdue one moved
    once, counters and cursors exact."""
    t0 = timezone.now().replace(microsecond=0) - timedelta(days=1)
    overdue = [_routed(country, t0) for country in ("SE", "ES") * 10]
    fresh = [_lead(country).pk for country in ("SE", "ES", "SE", "SE") * 15]
    before = _deadlocks()
    connections.close_all()
    ctx = multiprocessing.get_context("fork")
    start = ctx.Event()
    now = timezone.now()
    workers = [ctx.Process(target=_route_all, args=(fresh[i::3], start)) for i in range(3)]
    workers += [ctx.Process(target=_sweep_repeatedly, args=(now, start)) for _ in range(2)]
    for worker in workers:
        worker.start()
    start.set()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0

    assert _deadlocks() == before
    assert Assignment.objects.filter(lead_id__in=fresh).count() == len(fresh)
    assert Lead.objects.filter(pk__in=fresh, status="assigned").count() == len(fresh)
    per_lead = Counter(Assignment.objects.filter(lead__in=overdue).values_list("lead", flat=True))
    assert per_lead == dict.fromkeys((lead.pk for lead in overdue), 2)
    for lead in Lead.objects.filter(pk__in=[lead.pk for lead in overdue]):
        assert lead.reassignment_count == 1
    _assert_counters_match()
    for code in ("NORTH", "SOUTH"):
        rule = two_rules[code]
        state = RotationState.objects.get(rule=rule)
        assert state.assignments == Assignment.objects.filter(rule=rule).count()


def test_a_replan_never_waits_for_a_rep_below_one_it_holds(west_org, monkeypatch):
    """The first look (unlocked loads) says carol has room; her locked row says she is full, so
    the batch plans again, and the rotation's next rep, alice, has a lower id than carol's row
    it holds. Another transaction holds alice's row: waiting for it could deadlock, so routing
    takes her only if free, leaves her out, and settles on bob (free) without waiting."""
    from dataclasses import replace

    from apps.engine import RepLoad
    from apps.routing import planning
    from apps.routing.services import lead_route

    alice, bob, carol = sorted(west_org["reps"], key=lambda rep: rep.pk)
    Rep.objects.filter(pk=carol.pk).update(max_open_leads=1, open_leads_count=1)
    RotationState.objects.create(rule=west_org["enterprise"], data={"US-WEST": {"last": bob.pk}})
    real_loads = planning.rep_loads

    def stale_loads(**kwargs: Any) -> dict[int, RepLoad]:
        loads = real_loads(**kwargs)
        loads[carol.pk] = replace(loads[carol.pk], open_leads=0)
        return loads

    monkeypatch.setattr(planning, "rep_loads", stale_loads)
    lead = LeadFactory(company_size=5000, country="US", region="US-CA")
    with _Holder(lambda: Rep.objects.select_for_update().get(pk=alice.pk)):
        result = _impatient(lambda: lead_route(lead_id=lead.pk))
    assert result.outcome == "assigned"  # type: ignore[attr-defined]
    assert result.assignment.rep_id == bob.pk  # type: ignore[attr-defined]
    counts = dict(Rep.objects.values_list("pk", "open_leads_count"))
    assert counts == {alice.pk: 0, bob.pk: 1, carol.pk: 1}
