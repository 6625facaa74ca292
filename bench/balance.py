"""The distribution-balance JSON endpoint over a large assignment table, beside a raw reference.

Builds the lead table of bench/dashboards.py (N leads over the last 120 days, 300 reps, in a
fresh PostgreSQL database named by BENCH_DB, default ``bench_balance``: dropped and created),
gives every lead the automatic assignment that routed it, a tenth of the reps a daily cap,
every rep a recorded history with away spells and a third of them time off, then times the
balance endpoint through the full Django stack (a manager's token, the FilterSet, the selector,
JSON) over the last quarter, unfiltered and filtered on a territory and a lead source, beside
the same raw ``GROUP BY owner_id`` with an interval average as bench/dashboards.py. Medians of 5
runs after one warm-up, and the ratio to the reference (issue #15's budget: at most 1.5x).
Figures, never pass/fail.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/x REDIS_URL=redis://127.0.0.1:6379/13 \\
        .venv/bin/python bench/balance.py [--leads 1000000]
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import timedelta

from _setup import bench_database, django_setup
from dashboards import _populate, _timed

ENDPOINTS = [
    "/api/dashboards/balance/?preset=90d",
    "/api/dashboards/balance/?preset=90d&territory=T3&lead_source=web",
]


def _assignments_and_availability() -> None:
    from django.db import connection
    from django.utils import timezone

    from apps.reps.models import Rep, TimeOff

    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO routing_assignment (lead_id, rep_id, rule_name, strategy, kind, reason,
              trace, assigned_at)
            SELECT id, owner_id, 'Everyone', 'round_robin', 'auto', 'bench', '{}',
              created_at + interval '2 seconds'
            FROM leads_lead
            """
        )
        # as autovacuum would have: the visibility map lets the index alone answer the counts
        cursor.execute("VACUUM ANALYZE routing_assignment")
    reps = list(Rep.objects.order_by("pk"))
    history = Rep.history.model
    for n, rep in enumerate(reps):
        if n % 10 == 0:
            rep.max_daily_leads = 40
        rep.save()  # the creation record
        if n % 4 == 0:  # an away spell 40 to 30 days ago
            for away in (True, False):
                rep.away = away
                rep.save()
        if n % 3 == 0:
            TimeOff.objects.create(
                rep=rep,
                starts_at=now - timedelta(days=20 + n % 7),
                ends_at=now - timedelta(days=15),
                reason="vacation",
            )
    # date the records: created 200 days ago, away 40 days ago, back 30 days ago
    for rep in reps:
        rows = list(history.objects.filter(id=rep.pk).order_by("history_id"))
        dates = [now - timedelta(days=200), now - timedelta(days=40), now - timedelta(days=30)]
        for row, when in zip(rows, dates, strict=False):
            history.objects.filter(history_id=row.history_id).update(history_date=when)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=300)
    args = parser.parse_args()
    bench_database(os.environ.get("BENCH_DB", "bench_balance"))
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver")  # the test client's host
    django_setup()

    from django.contrib.auth.models import Group, User
    from django.db import connection
    from django.test import Client
    from rest_framework.authtoken.models import Token

    began = time.perf_counter()
    _populate(args.leads, args.reps)
    _assignments_and_availability()
    print(
        f"{args.leads:,} leads and automatic assignments, {args.reps} reps built in "
        f"{time.perf_counter() - began:.0f} s"
    )

    boss = User.objects.create(username="boss")
    boss.groups.add(Group.objects.get(name="RevOps managers"))
    client = Client(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=boss).key}")

    def reference() -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT owner_id, avg(first_contacted_at - created_at) FROM leads_lead"
                " WHERE created_at >= now() - interval '90 days' GROUP BY owner_id"
            )
            cursor.fetchall()

    base = _timed(reference)
    print(f"reference GROUP BY owner, interval avg (90 days): {base * 1000:8.1f} ms")
    for path in ENDPOINTS:

        def endpoint(path: str = path) -> None:
            response = client.get(path, secure=True)
            assert response.status_code == 200, (response.status_code, response.content[:300])

        spent = _timed(endpoint)
        print(f"{path:66} {spent * 1000:8.1f} ms  {spent / base:4.2f}x the reference")


if __name__ == "__main__":
    main()
