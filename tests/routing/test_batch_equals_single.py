"""A batch routes exactly as its leads routed one by one: the same reps, rules, reasons and
traces, the same rotation cursors and counters, one notification pair per assignment; and the
engine decides once per lead (the rules' rotation rows are locked before planning)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import transaction

from apps.leads.models import Lead, LeadActivity
from apps.reps.models import Rep
from apps.routing import planning
from apps.routing.models import Assignment, OutboxMessage, RotationState
from apps.routing.route import lead_route, leads_route
from apps.routing.selectors import config_cache_clear
from tests.factories import LeadFactory
from tests.routing.conftest import WRITER_PATHS

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)  # 9:00 in Los Angeles: working hours


def _leads() -> list[Lead]:
    """Enterprise leads (round robin, alice full after two), small ones (load balanced) and
    leads no rule can place, interleaved."""
    kinds = [
        (5000, "US-CA"),
        (10, "US-CA"),
        (5000, "US-WA"),
        (5000, "US-CA"),
        (10, "US-WA"),
        (5000, "US-CA"),
        (20, "DE-BE"),
        (5000, "US-CA"),
        (10, "US-CA"),
        (5000, "US-WA"),
        (5000, "US-CA"),
        (30, "US-CA"),
    ]
    return [
        LeadFactory(email=f"b{i}@acme{i}.com", company_size=size, country=region[:2], region=region)
        for i, (size, region) in enumerate(kinds)
    ]


def _outcome(leads: list[Lead]) -> dict[str, Any]:
    by_pk = {lead.pk: lead for lead in Lead.objects.select_related("owner__user", "rule")}
    assignments = {a.lead_id: a for a in Assignment.objects.all()}
    rows = []
    for lead in leads:
        stored, assignment = by_pk[lead.pk], assignments.get(lead.pk)
        rows.append(
            (
                stored.status,
                stored.owner.username if stored.owner else None,
                stored.rule.name if stored.rule else None,
                stored.sla_due_at,
                assignment.reason if assignment else None,
                assignment.trace if assignment else None,
                list(
                    LeadActivity.objects.filter(lead=lead)
                    .order_by("pk")
                    .values_list("kind", "note")
                ),
            )
        )
    return {
        "leads": rows,
        "rotation": {r.rule.name: (r.data, r.assignments) for r in RotationState.objects.all()},
        "reps": sorted(
            Rep.objects.values_list(
                "user__username", "open_leads_count", "assigned_today", "last_assigned_at"
            )
        ),
        "outbox": sorted(OutboxMessage.objects.values_list("lead_id", "kind")),
    }


@pytest.mark.parametrize("single_statement", WRITER_PATHS)
def test_a_batch_routes_as_its_leads_one_by_one(west_org, single_statement, pin_writers):
    pin_writers(single_statement)
    Rep.objects.filter(user__username="alice").update(max_open_leads=2)
    config_cache_clear()
    leads = _leads()

    with transaction.atomic():  # rolled back: the leads are routed again, one by one
        results = leads_route(lead_ids=[lead.pk for lead in leads], now=NOW)
        assert {result.outcome for result in results.values()} >= {"assigned", "unrouted"}
        batched = _outcome(leads)
        transaction.set_rollback(True)
    config_cache_clear()
    assert not Assignment.objects.exists()
    for lead in leads:
        lead_route(lead_id=lead.pk, now=NOW)
    one_by_one = _outcome(leads)

    assert batched == one_by_one
    owners = [row[1] for row in batched["leads"]]
    assert owners.count("alice") == 2  # her limit held inside the batch
    assigned = sum(1 for row in batched["leads"] if row[0] == "assigned")
    assert len(batched["outbox"]) == 2 * assigned  # one mail and one event per assignment


def test_the_engine_decides_once_per_lead_in_a_batch(west_org, monkeypatch):
    calls: list[int] = []
    real = planning.decide

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(planning, "decide", counted)
    leads = _leads()
    leads_route(lead_ids=[lead.pk for lead in leads], now=NOW)
    assert len(calls) == len(leads)
