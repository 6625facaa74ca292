"""The outbox writers (apps.routing.write_outbox): the PostgreSQL statement stores exactly the
rows the ORM stores, and both skip a notice owed already."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from apps.routing.models import Assignment, OutboxKind, OutboxMessage
from apps.routing.write_outbox import OrmOutboxWriter, PostgresOutboxWriter
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

WHEN = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
NOW = datetime(2026, 3, 2, 15, 0, 1, tzinfo=UTC)
WRITERS = [
    pytest.param(PostgresOutboxWriter, marks=pytest.mark.postgres, id="one-statement"),
    pytest.param(OrmOutboxWriter, id="orm"),
]


def _stored() -> list[tuple[object, ...]]:
    return list(
        OutboxMessage.objects.order_by("pk").values_list(
            "kind",
            "lead_id",
            "assignment_id",
            "rep_id",
            "occurred_at",
            "status",
            "attempts",
            "next_attempt_at",
            "last_error",
            "created_at",
            "sent_at",
        )
    )


@pytest.mark.parametrize("writer", WRITERS)
def test_both_writers_store_the_same_rows_once(west_org, writer):
    lead = LeadFactory(country="US", region="US-CA")
    rep = west_org["reps"][0]
    assignment = Assignment.objects.create(
        lead=lead, rep=rep, kind="auto", reason="r", trace={}, assigned_at=WHEN
    )
    rows = [
        (OutboxKind.ASSIGNED_MAIL, lead.pk, assignment.pk, None, WHEN),
        (OutboxKind.ASSIGNMENT_EVENT, lead.pk, assignment.pk, None, WHEN),
        (OutboxKind.TAKEN_AWAY_MAIL, lead.pk, assignment.pk, rep.pk, WHEN),
        (OutboxKind.ESCALATION_MAIL, lead.pk, None, None, WHEN),
    ]
    writer().insert(rows, now=NOW)
    writer().insert(rows, now=NOW)  # a redelivered task: nothing doubled
    assert _stored() == [
        (kind, lead_id, assignment_id, rep_id, at, "pending", 0, NOW, "", NOW, None)
        for kind, lead_id, assignment_id, rep_id, at in rows
    ]
