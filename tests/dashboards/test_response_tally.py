"""The response-time counts PostgreSQL maintains as leads are written (apps/dashboards/tally.py)
equal a count of the leads made here in Python, after any sequence of inserts, updates (owner,
first contact, SLA deadline, creation time; one lead or many in one statement), deletes, folds
and rebuilds; only what they count appends changes; a change of time zone counts again; a
truncate clears them; the fold runs on beat."""

from __future__ import annotations

import bisect
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction
from django.test import override_settings
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.core.db import RESPONSE_BUCKET_BOUNDS, RESPONSE_BUCKETS_PER_GROUP
from apps.dashboards.filtersets import DateWindow
from apps.dashboards.selectors import BUCKETS
from apps.dashboards.speed import response_time_rows, response_time_rows_sorted
from apps.dashboards.tally import CHANGES, GROUPS, tally_fold, tally_read, tally_rebuild
from apps.leads.models import Lead, LeadStatus
from tests.factories import LeadFactory, RepFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

FIRST, LAST = date(2026, 2, 27), date(2026, 3, 5)


def _bucket(seconds: float) -> int:
    """width_bucket over the bounds, as PostgreSQL computes it."""
    return bisect.bisect_right(RESPONSE_BUCKET_BOUNDS, seconds)


def _expected() -> tuple[dict[Any, tuple[list[int], int]], dict[int, dict[Any, int]]]:
    """The counts, made from the leads here: per owner (None included) the leads per bucket
    group then never contacted, and within SLA; per day (days since FIRST) the leads per
    bucket. Zeros left out."""
    zone = timezone.get_current_timezone()
    owners: dict[Any, tuple[list[int], int]] = {}
    days: dict[int, dict[Any, int]] = defaultdict(lambda: defaultdict(int))
    for lead in Lead.objects.all():
        day = lead.created_at.astimezone(zone).date()
        if not FIRST <= day <= LAST:
            continue
        groups, within = owners.get(lead.owner_id, ([0] * (GROUPS + 1), 0))
        bucket = None
        if lead.first_contacted_at is not None:
            bucket = _bucket((lead.first_contacted_at - lead.created_at).total_seconds())
            groups[bucket // RESPONSE_BUCKETS_PER_GROUP] += 1
        else:
            groups[GROUPS] += 1
        if (
            lead.first_contacted_at is not None
            and lead.sla_due_at is not None
            and lead.first_contacted_at <= lead.sla_due_at
        ):
            within += 1
        owners[lead.owner_id] = (groups, within)
        days[(day - FIRST).days][bucket] += 1
    return (
        {owner: value for owner, value in owners.items() if any(value[0]) or value[1]},
        {day: dict(counts) for day, counts in days.items()},
    )


def _read() -> tuple[dict[Any, tuple[list[int], int]], dict[int, dict[Any, int]]] | None:
    zone = timezone.get_current_timezone()
    low = datetime.combine(FIRST, datetime.min.time(), zone)
    high = datetime.combine(LAST + timedelta(days=1), datetime.min.time(), zone)
    with connection.cursor() as cursor:
        rows = tally_read(cursor, first=FIRST, last=LAST, low=low, high=high)
    if rows is None:
        return None
    owners, days = {}, {}
    for part, key, units, counts, within in rows:
        if part == "owner":
            if any(counts) or within:
                owners[key] = (list(counts), within)
        else:
            by_bucket = {unit: count for unit, count in zip(units, counts, strict=True) if count}
            if by_bucket:
                days[key] = by_bucket
    return owners, days


def _changes() -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {CHANGES}")
        return int(cursor.fetchone()[0])


moment = st.builds(
    lambda day, second: datetime(2026, 2, 27, tzinfo=UTC) + timedelta(days=day, seconds=second),
    st.integers(-1, 7),
    st.integers(0, 86399),
)
seconds = st.one_of(
    st.none(),
    st.sampled_from([0, 1, 300, 900, 3600, 86400, -30, 50 * 86400]),
    st.integers(-100, 200_000),
)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("create"), moment, st.integers(0, 3), seconds, st.integers(-5, 90)),
        st.tuples(st.just("owner"), st.integers(0, 50), st.integers(0, 3)),
        st.tuples(st.just("contact"), st.integers(0, 50), seconds),
        st.tuples(st.just("sla"), st.integers(0, 50), st.integers(-5, 90)),
        st.tuples(st.just("created"), st.integers(0, 50), moment),
        st.tuples(st.just("other"), st.integers(0, 50)),
        st.tuples(st.just("delete"), st.integers(0, 50)),
        st.tuples(st.just("all_to"), st.integers(0, 3)),
        st.tuples(st.just("fold")),
        st.tuples(st.just("rebuild")),
    ),
    max_size=30,
)


def _apply(operation: tuple[Any, ...], reps: list[Any]) -> None:
    kind, *args = operation
    ids = list(Lead.objects.order_by("pk").values_list("pk", flat=True))

    def owner(n: int) -> Any:
        return reps[n] if n < 3 else None

    def lead(n: int) -> Lead | None:
        return Lead.objects.get(pk=ids[n % len(ids)]) if ids else None

    if kind == "create":
        created, who, secs, sla_minutes = args
        LeadFactory(
            owner=owner(who),
            status=LeadStatus.ASSIGNED if who < 3 else LeadStatus.DISQUALIFIED,
            created_at=created,
            sla_due_at=created + timedelta(minutes=sla_minutes),
            first_contacted_at=None if secs is None else created + timedelta(seconds=secs),
        )
    elif kind == "fold":
        tally_fold()
    elif kind == "rebuild":
        tally_rebuild()
    elif kind == "all_to":
        # One statement moving many leads.
        Lead.objects.filter(owner__isnull=False).update(owner=owner(args[0]) or reps[0])
    elif (found := lead(args[0])) is not None:
        if kind == "owner":
            new = owner(args[1])
            status = found.status if new is not None else LeadStatus.DISQUALIFIED
            Lead.objects.filter(pk=found.pk).update(owner=new, status=status)
        elif kind == "contact":
            secs = args[1]
            contact = None if secs is None else found.created_at + timedelta(seconds=secs)
            Lead.objects.filter(pk=found.pk).update(first_contacted_at=contact)
        elif kind == "sla":
            due = found.created_at + timedelta(minutes=args[1])
            Lead.objects.filter(pk=found.pk).update(sla_due_at=due)
        elif kind == "created":
            Lead.objects.filter(pk=found.pk).update(created_at=args[1])
        elif kind == "other":
            Lead.objects.filter(pk=found.pk).update(company="Renamed", title="CEO")
        elif kind == "delete":
            found.delete()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=operations)
def test_the_counts_equal_the_leads_counted(steps: list[tuple[Any, ...]]) -> None:
    with transaction.atomic():
        reps = [RepFactory(), RepFactory(), RepFactory()]
        for step in steps:
            _apply(step, reps)
        assert _read() == _expected()
        tally_fold()
        assert _changes() == 0
        assert _read() == _expected()
        transaction.set_rollback(True)


WINDOW = DateWindow(date(2026, 3, 1), date(2026, 3, 4))


def _figures(rows: list[dict[str, Any]]) -> dict[tuple[int, Any], dict[str, Any]]:
    return {
        (row["part"], row["owner_id"], str(row["day"])): row
        for row in rows
        if row["leads"]  # the sorting statement also gives the empty days
    }


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=operations)
def test_the_figures_from_the_counts_equal_the_sorted_ones(steps: list[tuple[Any, ...]]) -> None:
    with transaction.atomic():
        reps = [RepFactory(), RepFactory(), RepFactory()]
        for step in steps:
            _apply(step, reps)
        low, high = WINDOW.bounds()
        leads = Lead.objects.filter(created_at__gte=low, created_at__lt=high)
        expected = _figures(response_time_rows_sorted(leads=leads, window=WINDOW, buckets=BUCKETS))
        got = response_time_rows(leads=leads, window=WINDOW, buckets=BUCKETS, narrowed=False)
        assert _figures(got) == expected
        transaction.set_rollback(True)


def test_only_what_is_counted_appends_changes() -> None:
    rep, other = RepFactory(), RepFactory()
    created = datetime(2026, 3, 1, 9, tzinfo=UTC)
    lead = LeadFactory(owner=rep, status=LeadStatus.ASSIGNED, created_at=created)
    tally_fold()
    Lead.objects.filter(pk=lead.pk).update(status=LeadStatus.CONVERTED, first_name="Ann")
    assert _changes() == 0  # nothing counted changed: the trigger's WHEN skipped it
    Lead.objects.filter(pk=lead.pk).update(owner=other)
    assert _changes() == 2  # the old values taken away, the new ones added
    Lead.objects.filter(pk=lead.pk).update(first_contacted_at=created + timedelta(minutes=3))
    assert _changes() == 4
    lead.delete()
    assert _changes() == 5
    assert _read() == _expected() == ({}, {})


def test_a_new_time_zone_counts_again() -> None:
    rep = RepFactory()
    # 03:30 UTC on 2 March is still 1 March in New York.
    created = datetime(2026, 3, 2, 3, 30, tzinfo=UTC)
    LeadFactory(owner=rep, status=LeadStatus.ASSIGNED, created_at=created)
    tally_fold()
    assert _read() == _expected()
    assert list(_read()[1]) == [3]  # type: ignore[index]
    with (
        override_settings(TIME_ZONE="America/New_York"),
        timezone.override(ZoneInfo("America/New_York")),
    ):
        assert _read() is None  # made in UTC: not used in New York
        low, high = WINDOW.bounds()
        leads = Lead.objects.filter(created_at__gte=low, created_at__lt=high)
        expected = _figures(response_time_rows_sorted(leads=leads, window=WINDOW, buckets=BUCKETS))
        # meanwhile the figures come from the leads themselves
        got = response_time_rows(leads=leads, window=WINDOW, buckets=BUCKETS, narrowed=False)
        assert _figures(got) == expected
        assert tally_fold() == 1  # counted again: one lead
        assert _read() == _expected()
        assert list(_read()[1]) == [2]  # type: ignore[index]


def test_a_rebuild_drops_the_changes_it_has_counted() -> None:
    rep = RepFactory()
    for n in range(5):
        created = datetime(2026, 3, 1, 9, tzinfo=UTC) + timedelta(hours=n)
        LeadFactory(
            owner=rep,
            status=LeadStatus.CONTACTED,
            created_at=created,
            first_contacted_at=created + timedelta(minutes=n),
        )
    assert _changes() == 5
    assert tally_rebuild() == 5
    assert _changes() == 0
    assert _read() == _expected()


def test_truncating_the_leads_clears_the_counts() -> None:
    LeadFactory(owner=RepFactory(), created_at=datetime(2026, 3, 1, 9, tzinfo=UTC))
    tally_fold()
    LeadFactory(created_at=datetime(2026, 3, 1, 10, tzinfo=UTC))
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the test's pending foreign-key checks
        cursor.execute("TRUNCATE leads_lead CASCADE")
    assert _changes() == 0
    assert _read() == ({}, {})


def test_beat_folds_every_minute() -> None:
    from django_celery_beat.models import PeriodicTask

    from apps.dashboards.tasks import response_counts_fold

    beat = PeriodicTask.objects.get(name="response-counts-fold")  # created on migrate
    assert beat.task == response_counts_fold.name
    assert beat.crontab.minute == "*" and beat.crontab.hour == "*"
    LeadFactory(owner=RepFactory(), created_at=datetime(2026, 3, 1, 9, tzinfo=UTC))
    assert _changes() == 1
    response_counts_fold.apply()
    assert _changes() == 0
    assert _read() == _expected()


@pytest.mark.django_db(transaction=True)
def test_folds_and_a_rebuild_amid_concurrent_writers_lose_nothing() -> None:
    """Writers create, move and contact leads in their own transactions while folds run over
    and over and the counts are made again once in the middle: the counts still equal the
    leads counted (each change is either in the snapshot a fold or the rebuild consumed, or
    left for the next one)."""
    import threading

    from django.db import connections

    reps = [RepFactory(), RepFactory(), RepFactory()]
    stop = threading.Event()
    errors: list[BaseException] = []

    def writer(seed: int) -> None:
        try:
            for n in range(40):
                created = datetime(2026, 3, 1, tzinfo=UTC) + timedelta(minutes=seed * 100 + n)
                with transaction.atomic():
                    lead = LeadFactory(
                        owner=reps[n % 3], status=LeadStatus.ASSIGNED, created_at=created
                    )
                with transaction.atomic():
                    Lead.objects.filter(pk=lead.pk).update(
                        owner=reps[(n + seed) % 3],
                        first_contacted_at=created + timedelta(seconds=n * 97),
                    )
        except BaseException as error:  # reported by the test's thread
            errors.append(error)
        finally:
            connections.close_all()

    def folder() -> None:
        try:
            while not stop.is_set():
                tally_fold()
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    writers = [threading.Thread(target=writer, args=(seed,)) for seed in range(3)]
    folding = threading.Thread(target=folder)
    folding.start()
    for thread in writers:
        thread.start()
    tally_rebuild()
    for thread in writers:
        thread.join()
    stop.set()
    folding.join()
    assert errors == []
    assert Lead.objects.count() == 120
    assert _read() == _expected()
    tally_fold()
    assert _read() == _expected()
