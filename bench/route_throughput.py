"""Sustained routing through a real Celery worker on Redis and PostgreSQL.

Prints, in the same run:
  * no-op Celery task throughput (1 worker x 2 processes) — the reference;
  * routing throughput through route_lead on the same worker (budget: >= 0.6x the reference);
  * one hot round-robin rule with 2 worker processes: assignments/s and rotation exactness.

A route_lead task routes up to ROUTING_BATCH_SIZE waiting leads at once, so the routing clock
stops only when every lead is assigned and every task has run.

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/x REDIS_URL=redis://127.0.0.1:6379/13 \
       .venv/bin/python bench/route_throughput.py [--leads 2000] [--runs 3]
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

from _setup import bench_database, django_setup, median, start_worker, stop_worker


def build_config(reps: int) -> None:
    from django.contrib.auth.models import User

    from apps.reps.models import Rep
    from apps.rules.models import RoutingRule
    from apps.territories.models import Territory

    amer = Territory.objects.create(code="AMER", name="Americas", countries=["US", "CA"])
    west = Territory.objects.create(code="US-WEST", name="US West", parent=amer, regions=["US-CA"])
    for i in range(reps):
        rep = Rep.objects.create(user=User.objects.create(username=f"rep{i:03d}"))
        rep.territories.set([west if i % 2 == 0 else amer])
    # A realistic ordered list in front of the hot rule: most do not match these leads.
    for i in range(20):
        RoutingRule.objects.create(
            name=f"Source {i}",
            position=i,
            conditions=[{"field": "lead_source", "op": "eq", "value": f"source-{i}"}],
            target={"territory": "AMER"},
            strategy="load_balanced",
        )
    RoutingRule.objects.create(
        name="Hot rule",
        position=100,
        conditions=[{"field": "territory", "op": "within", "value": "US-WEST"}],
        target={"territory": "US-WEST"},
        strategy="round_robin",
    )


def make_leads(n: int) -> list[int]:
    from apps.leads.models import Lead

    leads = Lead.objects.bulk_create(
        Lead(
            email=f"lead{time.monotonic_ns()}-{i}@example{i % 97}.com",
            email_domain=f"example{i % 97}.com",
            country="US",
            region="US-CA",
            company_size=100,
        )
        for i in range(n)
    )
    return [lead.pk for lead in leads]


def measure_noop(n: int) -> float:
    from django.conf import settings
    from redis import Redis

    from apps.core.tasks import noop

    redis = Redis.from_url(settings.REDIS_URL)
    key = f"bench:noop:{time.monotonic_ns()}"
    redis.set(key, 0)
    start = time.perf_counter()
    for _ in range(n):
        noop.apply_async((key,), queue="routing")
    while int(redis.get(key) or 0) < n:
        time.sleep(0.005)
    return n / (time.perf_counter() - start)


def measure_routing(n: int) -> float:
    """Leads/s from the first task sent until every lead is assigned *and* every task has run.

    A task may route other waiting leads with its own (ROUTING_BATCH_SIZE); their own tasks
    still cost the worker a round trip, so the clock stops only when the queue is drained too.
    """
    from django.conf import settings
    from redis import Redis

    from apps.leads.models import Lead
    from apps.routing.tasks import route_lead

    redis = Redis.from_url(settings.REDIS_URL)
    ids = make_leads(n)
    start = time.perf_counter()
    for lead_id in ids:
        route_lead.apply_async((lead_id,))
    # A cheap poll (a primary-key range), so the measuring process takes little of the CPU.
    done = Lead.objects.filter(pk__gte=min(ids), pk__lte=max(ids), status="assigned")
    while done.count() < n:
        time.sleep(0.05)
    # Kombu's Redis transport: waiting messages in the queue's list, delivered ones in `unacked`.
    while redis.llen("routing") or redis.hlen("unacked"):
        time.sleep(0.005)
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--reps", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes")
    args = parser.parse_args()

    bench_database("routing_bench_throughput")
    django_setup()
    from routing_portal.celery import app

    app.control.purge()
    build_config(args.reps)
    worker = start_worker(concurrency=args.concurrency)
    try:
        measure_noop(200)  # warm-up
        measure_routing(200)
        noop_rates, route_rates = [], []
        for run in range(args.runs):
            noop_rates.append(measure_noop(args.leads))
            route_rates.append(measure_routing(args.leads))
            print(
                f"run {run + 1}: no-op {noop_rates[-1]:7.0f} tasks/s   route_lead {route_rates[-1]:7.0f} leads/s"
            )
    finally:
        stop_worker(worker)

    from django.conf import settings

    from apps.routing.models import Assignment, RotationState

    noop_med, route_med = median(noop_rates), median(route_rates)
    print()
    print(
        f"Sustained routing, 1 worker x {args.concurrency} processes, PostgreSQL + Redis, "
        f"ROUTING_BATCH_SIZE={settings.ROUTING_BATCH_SIZE}"
    )
    print(f"  reference: no-op Celery task      {noop_med:8.0f} tasks/s (median of {args.runs})")
    print(
        f"  route_lead (21 rules, {args.reps} reps)  {route_med:8.0f} leads/s (median of {args.runs})"
    )
    print(f"  ratio                              {route_med / noop_med:8.2f}  (budget >= 0.60)")
    per_rep = Counter(
        Assignment.objects.filter(rule__name="Hot rule").values_list("rep_id", flat=True)
    )
    spread = max(per_rep.values()) - min(per_rep.values())
    state = RotationState.objects.get(rule__name="Hot rule")
    print(f"Hot rule ({args.concurrency} processes racing on one rotation row)")
    print(f"  every lead above matches it: {route_med:8.0f} assignments/s (DESIGN budget >= 250)")
    print(
        f"  assignments {sum(per_rep.values())}, reps {len(per_rep)}, max-min per rep {spread} "
        f"(exact rotation: <= 1), rotation counter {state.assignments}"
    )
    total = Assignment.objects.count()
    leads = Assignment.objects.values("lead_id").distinct().count()
    print(
        f"  all runs: {total} assignments for {leads} distinct leads (double assignments: {total - leads})"
    )


if __name__ == "__main__":
    main()
