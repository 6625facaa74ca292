"""Dashboard JSON endpoints over a large lead table, beside a raw reference query.

Builds N leads (default 1,000,000) over the last 120 days and 300 reps in a fresh PostgreSQL
database (set DATABASE_URL; the database named by BENCH_DB, default ``bench_dashboards``, is
dropped and created), then times, over the last quarter (90 days), each dashboard's JSON twin
through the full Django stack (a manager's token, the FilterSet, the selector, JSON) beside a raw
``SELECT owner_id, avg(first_contacted_at - created_at) ... GROUP BY owner_id`` over the same
window in the same run. Prints medians of 5 runs after one warm-up, and the ratio to the
reference (issue #15's budget: at most 1.5x). Figures, never pass/fail.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/x REDIS_URL=redis://127.0.0.1:6379/13 \\
        .venv/bin/python bench/dashboards.py [--leads 1000000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

from _setup import bench_database, django_setup

ENDPOINTS = [
    "/api/dashboards/response-time/?preset=90d",
    "/api/dashboards/conversion/?preset=90d",
]


def _timed(run: Callable[[], object], repeat: int = 5) -> float:
    run()  # warm-up: plans and caches
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        run()
        samples.append(time.perf_counter() - began)
    return statistics.median(samples)


def _populate(leads: int, reps: int) -> None:
    from django.contrib.auth.models import User
    from django.db import connection

    from apps.reps.models import Rep
    from apps.territories.models import Territory

    users = User.objects.bulk_create(User(username=f"rep{n:03d}") for n in range(reps))
    Rep.objects.bulk_create(Rep(user=user) for user in users)
    Territory.objects.bulk_create(Territory(code=f"T{n}", name=f"T{n}") for n in range(10))
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(id), max(id) FROM reps_rep")
        low_rep, high_rep = cursor.fetchone()
        cursor.execute("SELECT min(id) FROM territories_territory")
        (low_territory,) = cursor.fetchone()
        # Response times spread from seconds to days (a log-uniform draw); 8% never contacted.
        cursor.execute(
            """
            INSERT INTO leads_lead (email, email_domain, first_name, last_name, phone, company,
              title, city, country, region, postal_code, industry, lead_source,
              product_interest, language, extra, status, created_at, updated_at,
              reassignment_count, owner_id, territory_id, assigned_at, sla_due_at,
              first_contacted_at)
            SELECT 'l' || g || '@x' || (g %% 5000) || '.com', 'x' || (g %% 5000) || '.com',
              'F', 'L', '', 'Co', '', '', 'US', '', '', '',
              (ARRAY['web', 'event', 'partner', 'ads'])[1 + g %% 4], '', '', '{}',
              CASE WHEN r < 0.08 THEN 'assigned' ELSE 'contacted' END, c, c, 0,
              %s + (g %% %s), %s + (g %% 10), c, c + interval '1 hour',
              CASE WHEN r < 0.08 THEN NULL ELSE c + make_interval(secs => exp(random() * 12)) END
            FROM (SELECT g, random() AS r,
                    now() - make_interval(secs => random() * 120 * 86400) AS c
                  FROM generate_series(1, %s) AS g) AS s
            """,
            [low_rep, high_rep - low_rep + 1, low_territory, leads],
        )
        cursor.execute("ANALYZE leads_lead")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=300)
    args = parser.parse_args()
    bench_database(os.environ.get("BENCH_DB", "bench_dashboards"))
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver")  # the test client's host
    django_setup()

    from django.contrib.auth.models import Group, User
    from django.db import connection
    from django.test import Client
    from rest_framework.authtoken.models import Token

    began = time.perf_counter()
    _populate(args.leads, args.reps)
    print(f"{args.leads:,} leads, {args.reps} reps built in {time.perf_counter() - began:.0f} s")

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
        print(f"{path:55} {spent * 1000:8.1f} ms  {spent / base:4.2f}x the reference")


if __name__ == "__main__":
    main()
