"""The bucketed response-time figures (PostgreSQL: the maintained counts by bucket, then the
exact values at the percentiles' ranks) equal the sorting statement's, figure for figure, on
random leads: ties, values on bucket bounds, negative and very long response times, leads never
contacted or owned (narrowed by a filter, the figures are the sorting statement's own)."""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.core.db import RESPONSE_BUCKET_BOUNDS
from apps.dashboards.filtersets import DateWindow
from apps.dashboards.selectors import BUCKETS
from apps.dashboards.speed import (
    DAILY,
    OVERALL,
    PER_OWNER,
    _Group,
    _histogram,
    response_time_rows,
    response_time_rows_sorted,
)
from apps.leads.models import Lead
from tests.factories import LeadFactory, RepFactory

WINDOW = DateWindow(date(2026, 3, 1), date(2026, 3, 4))
FIGURES = ("leads", "contacted", "within_sla", "median", "p90")


def test_the_histogram_bounds_are_bucket_bounds() -> None:
    for _, low, high in BUCKETS:
        for bound in (low, high):
            assert bound is None or float(bound) in RESPONSE_BUCKET_BOUNDS
    assert list(RESPONSE_BUCKET_BOUNDS) == sorted(set(RESPONSE_BUCKET_BOUNDS))


def test_ranks_are_located_in_their_bucket() -> None:
    group = _Group({None: 5, 3: 2, 7: 1, 9: 4}, within_sla=0)
    assert group.leads == 12 and group.contacted == 7
    # 7 values: ranks 0-1 in bucket 3, 2 in bucket 7, 3-6 in bucket 9
    assert group.located([0, 1, 2, 3, 6]) == {0: (3, 0), 1: (3, 1), 2: (7, 0), 3: (9, 0), 6: (9, 3)}
    assert group.ranks()[0.5] == (3, 3, 0.0)
    low, high, weight = group.ranks()[0.9]
    assert (low, high) == (5, 6) and math.isclose(weight, 0.4)
    assert group.percentile(0.9, {5: 10.0, 6: 20.0}) == 10.0 + (20.0 - 10.0) * weight


def test_the_histogram_adds_whole_buckets() -> None:
    bucket_of_300 = RESPONSE_BUCKET_BOUNDS.index(300.0) + 1  # [300, next)
    group = _Group({0: 1, 1: 2, bucket_of_300 - 1: 3, bucket_of_300: 4, None: 9}, within_sla=0)
    assert _histogram(group, BUCKETS)[:2] == [6, 4]


def _by_key(rows: list[dict[str, Any]]) -> dict[tuple[int, Any], dict[str, Any]]:
    keyed = {}
    for row in rows:
        if row["part"] == DAILY and not row["leads"]:
            continue  # the sorting statement also gives the empty days
        key = {OVERALL: None, PER_OWNER: row["owner_id"], DAILY: str(row["day"])}[row["part"]]
        keyed[(row["part"], key)] = {
            name: value for name, value in row.items() if name not in ("part", "owner_id", "day")
        }
    return keyed


seconds = st.one_of(
    st.none(),
    st.sampled_from([0, 1, 299, 300, 301, 900, 3600, 86400, -30, 50 * 86400]),
    st.integers(min_value=-100, max_value=200_000),
    st.floats(min_value=0, max_value=5000, allow_nan=False).map(lambda s: round(s, 3)),
)
leads = st.lists(
    st.tuples(seconds, st.integers(0, 3), st.integers(0, 4), st.integers(0, 86399)),
    min_size=0,
    max_size=40,
)


@pytest.mark.django_db
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(drawn=leads)
def test_bucketed_figures_equal_the_sorted_ones(drawn: list[tuple[Any, int, int, int]]) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has one path: the sorting statement")
    with transaction.atomic():
        reps = [RepFactory(), RepFactory(), RepFactory()]
        for secs, owner, day, second in drawn:
            created = datetime(2026, 2, 28, tzinfo=UTC) + timedelta(days=day, seconds=second)
            LeadFactory(
                owner=reps[owner] if owner < 3 else None,
                # a lead no one owns was closed (a working lead has an owner)
                status="disqualified"
                if owner == 3
                else "contacted"
                if secs is not None
                else "assigned",
                created_at=created,
                sla_due_at=created + timedelta(minutes=5),
                first_contacted_at=None if secs is None else created + timedelta(seconds=secs),
            )
        low, high = WINDOW.bounds()
        window_leads = Lead.objects.filter(created_at__gte=low, created_at__lt=high)
        expected = _by_key(
            response_time_rows_sorted(leads=window_leads, window=WINDOW, buckets=BUCKETS)
        )
        for narrowed in (False, True):
            got = _by_key(
                response_time_rows(
                    leads=window_leads, window=WINDOW, buckets=BUCKETS, narrowed=narrowed
                )
            )
            assert got == expected
        transaction.set_rollback(True)


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_bucket_expressions_are_the_indexes_own() -> None:
    """The planner matches an indexed expression by its parsed form: the bucket and the group
    the queries compile must be the ones the indexes hold, or every count and lookup reads the
    table. Asked for one owner's bucket and for one bucket group, it finds them in the index."""
    from apps.dashboards.speed import _bucketed

    reps = [RepFactory() for _ in range(3)]
    for n in range(300):
        created = datetime(2026, 3, 1, tzinfo=UTC) + timedelta(minutes=10 * n)
        LeadFactory(
            owner=reps[n % 3],
            status="contacted",
            created_at=created,
            first_contacted_at=created + timedelta(seconds=n * n),
        )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("ANALYZE leads_lead")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        bucketed = _bucketed(Lead.objects.all())
        by_owner = bucketed.filter(owner=reps[0], bucket=80).explain()
        by_group = bucketed.filter(bucket_group=9).explain()
    assert re.search(r"lead_owner_bucket_idx.*\n.*Index Cond: .*AND \(width_bucket\(", by_owner)
    assert re.search(r"lead_bucket_group_created_idx.*\n.*Index Cond: .*width_bucket\(", by_group)
