"""A small hand-built speed-to-lead data set (2026-03-01 to 03-03, UTC) with figures worked out
by hand in the tests; roles: a manager, a rep, an integration account."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client

from tests.factories import LeadFactory, RepFactory, TerritoryFactory, UserFactory

URL = "/dashboards/response-time/"
API = "/api/dashboards/response-time/"
WINDOW = "start=2026-03-01&end=2026-03-03"


def response_time_queries(*, contacted: bool = True, narrowed: bool = False) -> int:
    """The response-time figures' queries (apps/dashboards/speed.py): one sorting statement on
    SQLite; on PostgreSQL, inside the test's transaction, a savepoint, the planner settings,
    then either (``narrowed`` by a territory, source or rep) the sorting statement or the
    maintained counts and the exact values (none to read when no lead in the window was
    contacted), then the savepoint's release."""
    if connection.vendor != "postgresql":
        return 1
    if narrowed:
        return 4
    return 5 if contacted else 4


def grouped_count_queries() -> int:
    """A grouped count (apps/dashboards/grouping.py): its statement on SQLite; on PostgreSQL,
    inside the test's transaction, a savepoint, the planner settings, the statement and the
    savepoint's release."""
    return 4 if connection.vendor == "postgresql" else 1


def health_queries(*, narrowed: bool = False) -> int:
    """The routing-health strip (apps/dashboards/health.py): one statement; over every lead on
    PostgreSQL, the leads read from the maintained counts first."""
    return 2 if connection.vendor == "postgresql" and not narrowed else 1


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, second, tzinfo=UTC)


@pytest.fixture
def boss_client(boss) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(boss)
    return client


@pytest.fixture
def dataset(db):  # type: ignore[no-untyped-def]
    """ann (EU): 2 min, 10 min, 30 min, 2 h; bob (US): 5 min, 5 h, 25 h, never; cid: no lead;
    one unrouted lead never contacted; two leads just outside the window. SLA: 60 min."""
    eu, us = TerritoryFactory(code="EU"), TerritoryFactory(code="US")
    ann = RepFactory(user=UserFactory(username="ann"))
    bob = RepFactory(user=UserFactory(username="bob"))
    cid = RepFactory(user=UserFactory(username="cid"))

    def lead(owner, territory, created, seconds, source="web"):  # type: ignore[no-untyped-def]
        return LeadFactory(
            owner=owner,
            territory=territory,
            lead_source=source,
            status="contacted" if seconds is not None else ("assigned" if owner else "unrouted"),
            created_at=created,
            assigned_at=created if owner else None,
            sla_due_at=created + timedelta(minutes=60) if owner else None,
            first_contacted_at=created + timedelta(seconds=seconds)
            if seconds is not None
            else None,
        )

    lead(ann, eu, at(1, 9), 120, "event")
    lead(ann, eu, at(1, 10), 600)
    lead(ann, eu, at(2, 9), 1800)
    lead(ann, eu, at(2, 11), 7200)
    lead(bob, us, at(1, 12), 300, "event")
    lead(bob, us, at(3, 8), 18000)
    lead(bob, us, at(3, 9), 90000)
    lead(bob, us, at(3, 10), None)
    lead(None, None, at(2, 13), None)
    lead(ann, eu, at(1, 0) - timedelta(seconds=1), 60)  # 2026-02-28 23:59:59
    lead(ann, eu, at(4, 0), 60)
    return {"ann": ann, "bob": bob, "cid": cid, "eu": eu, "us": us}
