"""Every dashboard's JSON twin over a large lead table, beside a raw reference query.

Seeds, in the PostgreSQL database DATABASE_URL names (create it first, e.g. ``createdb
rp_bench``; it must be empty, or hold this benchmark's own seed, which is then reused), N leads
(default 1,000,000) over the last 120 days, 300 reps and each lead's assignments (about 5% of
leads moved: for inactivity, by hand, for an unavailable rep), some unrouted, duplicate and still
`new`, all in a few set-based SQL statements. Then times, over the last 90 days, each dashboard
of the registry (apps/dashboards/registry.py, so every dashboard is timed once it is registered)
through the full Django stack (a manager's token, the FilterSet, the selectors, JSON), and
the routing-health strip's own endpoint, beside a raw ``SELECT owner_id, avg(first_contacted_at -
created_at) ... GROUP BY owner_id`` over the same window, in the same run, interleaved so both
see the same machine load. Prints the median of ``--runs`` runs after one warm-up and the ratio
to the reference (issue #15's budget: at most 1.5x). Figures, never pass/fail. ``--explain``
also prints EXPLAIN (ANALYZE, BUFFERS) of each query an endpoint runs.

    createdb -h 127.0.0.1 -U postgres rp_bench
    DJANGO_DEBUG=0 DATABASE_URL=postgres://postgres@127.0.0.1:5432/rp_bench \\
    REDIS_URL=redis://127.0.0.1:6379/13 .venv/bin/python bench/dashboards.py [--leads 1000000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial

from _setup import django_setup

BOSS = "bench-dashboards-boss"
QUERY = "preset=90d"

REFERENCE_SQL = (
    "SELECT owner_id, avg(first_contacted_at - created_at) FROM leads_lead"
    " WHERE created_at >= date_trunc('day', now()) - interval '89 days' GROUP BY owner_id"
)

LEADS_SQL = """
INSERT INTO leads_lead (email, email_domain, first_name, last_name, phone, company, title, city,
  country, region, postal_code, industry, lead_source, product_interest, language, extra, status,
  created_at, updated_at, reassignment_count, owner_id, territory_id, assigned_at, sla_due_at,
  first_contacted_at, closed_at)
SELECT 'l' || g || '@x' || (g %% 5000) || '.com', 'x' || (g %% 5000) || '.com',
  'F', 'L', '', 'Co', '', '', 'US', '', '', '',
  (ARRAY['web', 'event', 'partner', 'ads'])[1 + g %% 4], '', '', '{}',
  CASE WHEN fresh THEN 'new' WHEN r < 0.01 THEN 'unrouted'
       -- made duplicates below, once the lead they duplicate exists
       WHEN r < 0.03 THEN 'disqualified'
       WHEN r < 0.11 THEN 'assigned' WHEN r < 0.23 THEN 'converted'
       WHEN r < 0.30 THEN 'disqualified' ELSE 'contacted' END,
  c, c, 0,
  CASE WHEN fresh OR r < 0.03 THEN NULL ELSE %(low_rep)s + (g %% %(reps)s) END,
  %(low_territory)s + (g %% 10),
  CASE WHEN fresh OR r < 0.03 THEN NULL ELSE c END,
  CASE WHEN fresh OR r < 0.03 THEN NULL ELSE c + interval '1 hour' END,
  -- response times spread from seconds to days (a log-uniform draw); 8%% never contacted
  CASE WHEN fresh OR r < 0.11 THEN NULL ELSE c + make_interval(secs => exp(random() * 12)) END,
  CASE WHEN NOT fresh AND r >= 0.11 AND r < 0.30 THEN c + interval '3 days' END
FROM (SELECT g, r, c, c > now() - interval '10 minutes' AS fresh
      FROM (SELECT g, random() AS r, now() - make_interval(secs => random() * 120 * 86400) AS c
            FROM generate_series(1, %(leads)s) AS g) AS drawn) AS s
ORDER BY s.c  -- stored in order of arrival, as intake writes them
"""

DUPLICATES_SQL = """
UPDATE leads_lead SET status = 'duplicate', duplicate_of_id = id - 1
WHERE status = 'disqualified' AND owner_id IS NULL AND id > (SELECT min(id) FROM leads_lead)
"""

# One current assignment per owned lead; by the lead id, some began as a move: for inactivity
# (1 h after routing), by hand within 24 h (3 h), by hand later (2 days), rep unavailable (5 h).
CURRENT_SQL = """
INSERT INTO routing_assignment (rule_name, strategy, kind, reason, trace, assigned_at, lead_id,
  rep_id)
SELECT '', 'round_robin', m.kind, 'bench', '{}', l.assigned_at + m.after, l.id, l.owner_id
FROM leads_lead l CROSS JOIN LATERAL (SELECT
  CASE WHEN l.id %% 50 = 0 THEN 'reassign_inactivity' WHEN l.id %% 50 = 1 THEN 'manual'
       WHEN l.id %% 100 = 2 THEN 'manual' WHEN l.id %% 200 = 3 THEN 'reassign_unavailable'
       ELSE 'auto' END AS kind,
  CASE WHEN l.id %% 50 = 0 THEN interval '1 hour' WHEN l.id %% 50 = 1 THEN interval '3 hours'
       WHEN l.id %% 100 = 2 THEN interval '2 days' WHEN l.id %% 200 = 3 THEN interval '5 hours'
       ELSE interval '0' END AS after) AS m
WHERE l.owner_id IS NOT NULL
"""

# The automatic assignment (to the next rep) that each move above ended.
ENDED_SQL = """
INSERT INTO routing_assignment (rule_name, strategy, kind, reason, trace, assigned_at, ended_at,
  lead_id, rep_id)
SELECT '', 'round_robin', 'auto', 'bench', '{}', l.assigned_at, a.assigned_at, l.id,
  %(low_rep)s + ((l.owner_id - %(low_rep)s + 1) %% %(reps)s)
FROM leads_lead l JOIN routing_assignment a ON a.lead_id = l.id AND a.kind <> 'auto'
"""


def _timed(run: Callable[[], object]) -> float:
    began = time.perf_counter()
    run()
    return time.perf_counter() - began


def _populate(leads: int, reps: int) -> None:
    from django.contrib.auth.models import User
    from django.db import connection, transaction

    from apps.dashboards.tally import tally_fold
    from apps.reps.models import Rep
    from apps.territories.models import Territory

    with transaction.atomic():
        users = User.objects.bulk_create(User(username=f"rep{n:03d}") for n in range(reps))
        Rep.objects.bulk_create(Rep(user=user) for user in users)
        Territory.objects.bulk_create(Territory(code=f"T{n}", name=f"T{n}") for n in range(10))
        with connection.cursor() as cursor:
            cursor.execute("SELECT min(id) FROM reps_rep")
            (low_rep,) = cursor.fetchone()
            cursor.execute("SELECT min(id) FROM territories_territory")
            (low_territory,) = cursor.fetchone()
            params = {
                "low_rep": low_rep,
                "reps": reps,
                "low_territory": low_territory,
                "leads": leads,
            }
            for sql in (LEADS_SQL, DUPLICATES_SQL, CURRENT_SQL, ENDED_SQL):
                cursor.execute(sql, params)
    # The response-time counts: the seed's changes folded in, as beat does every minute.
    tally_fold()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE leads_lead")
        cursor.execute("VACUUM ANALYZE routing_assignment")
        cursor.execute("VACUUM ANALYZE dashboards_response_change")


def _seed(leads: int, reps: int) -> None:
    """Seed an empty database; reuse this benchmark's own seed of the same size; else stop."""
    from django.contrib.auth.models import Group, User

    from apps.leads.models import Lead
    from apps.reps.models import Rep

    if User.objects.filter(username=BOSS).exists():
        if Lead.objects.count() == leads and Rep.objects.count() == reps:
            print(f"Reusing the seed already in the database ({leads:,} leads, {reps} reps).")
            return
        sys.exit("The database holds a seed of another size: drop and create it again.")
    if Lead.objects.exists() or Rep.objects.exists():
        sys.exit("DATABASE_URL names a database with data in it: point it at an empty one.")
    began = time.perf_counter()
    _populate(leads, reps)
    boss = User.objects.create(username=BOSS)
    boss.groups.add(Group.objects.get(name="RevOps managers"))
    print(f"{leads:,} leads, {reps} reps built in {time.perf_counter() - began:.0f} s")


def _explain(path: str, client: object) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        client.get(path, secure=True)  # type: ignore[attr-defined]
    for query in captured.captured_queries:
        sql = query["sql"]
        if "leads_lead" not in sql and "routing_assignment" not in sql:
            continue
        print(f"\n-- {query['time']} s: {sql[:400]}")
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
            print("\n".join(row[0] for row in cursor.fetchall()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=300)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE each query")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("Set DATABASE_URL=postgres://... (an empty database) to run this benchmark.")
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver")  # the test client's host
    django_setup()

    from django.contrib.auth.models import User
    from django.db import connection
    from django.http import QueryDict
    from django.test import Client
    from django.urls import reverse
    from rest_framework.authtoken.models import Token

    from apps.dashboards.filtersets import DashboardFilterSet
    from apps.dashboards.health import routing_health
    from apps.dashboards.registry import DASHBOARDS
    from apps.leads.models import Lead

    _seed(args.leads, args.reps)
    token, _ = Token.objects.get_or_create(user=User.objects.get(username=BOSS))
    client = Client(HTTP_AUTHORIZATION=f"Token {token.key}")

    def reference() -> None:
        with connection.cursor() as cursor:
            cursor.execute(REFERENCE_SQL)
            cursor.fetchall()

    paths = [f"{reverse(f'dashboards:api_{d.url_name}')}?{QUERY}" for d in DASHBOARDS]
    paths.append(f"{reverse('dashboards:api_health')}?{QUERY}")
    runs: dict[str, Callable[[], object]] = {"reference": reference}
    for path in paths:

        def endpoint(path: str = path) -> None:
            response = client.get(path, secure=True)
            assert response.status_code == 200, (response.status_code, response.content[:300])

        runs[path] = endpoint
    # Where an endpoint's time goes: each dashboard's own selector and the health strip, called
    # directly.
    filterset = DashboardFilterSet(QueryDict(QUERY), queryset=Lead.objects.all())
    assert filterset.is_valid(), filterset.errors
    parts: dict[str, Callable[[], object]] = {
        f"  {d.slug} selector alone": partial(
            d.build, leads=filterset.qs, window=filterset.window, rep=None
        )
        for d in DASHBOARDS
    }
    parts["  routing-health strip alone"] = partial(
        routing_health, leads=Lead.objects.all(), window=filterset.window
    )
    runs.update(parts)
    samples: dict[str, list[float]] = {name: [] for name in runs}
    for run in runs.values():
        run()  # warm-up: plans, caches, the manager's group
    for _ in range(args.runs):
        for name, run in runs.items():
            samples[name].append(_timed(run))

    base = statistics.median(samples["reference"])
    print(f"median of {args.runs} runs, last 90 days ({QUERY}):")
    print(f"{'reference: raw GROUP BY owner_id, avg(interval)':55} {base * 1000:8.1f} ms")
    for name in [*paths, *parts]:
        spent = statistics.median(samples[name])
        print(f"{name:55} {spent * 1000:8.1f} ms  {spent / base:4.2f}x the reference")
    if args.explain:
        for path in paths:
            _explain(path, client)


if __name__ == "__main__":
    main()
