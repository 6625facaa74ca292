"""Sustained routing through real Celery workers on Redis and PostgreSQL, by worker processes.

Prints, in the same run, for each layout of worker processes (`--processes 1,2,4`, each as one
worker instance with that concurrency and, with `--hosts 1,2`, also split over two worker
instances with distinct names: two worker hosts' worth on this machine):
  * no-op Celery task throughput on that layout: the reference;
  * routing throughput through route_lead (budget: >= 0.6x the reference), for each
    configuration (`--configs hot,territories`):
      - hot: every lead matches one round-robin rule (50 reps), behind 20 rules that do not
        match: the worst case, every batch locks the same rotation row;
      - territories: leads spread evenly over 8 territories, each with its own round-robin
        rule and 10 reps: batches of different territories lock different rows and run side
        by side, so added processes should add throughput;
  * rotation exactness (max-min assignments per rep of each rule) and double assignments.

A route_lead task routes up to ROUTING_BATCH_SIZE waiting leads at once, so the routing clock
stops only when every lead is assigned and every task has run.

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/x REDIS_URL=redis://127.0.0.1:6379/13 \
       .venv/bin/python bench/route_throughput.py [--leads 2000] [--runs 3] \
       [--processes 1,2,4] [--hosts 1,2] [--configs hot,territories]
"""

from __future__ import annotations

import argparse
import os
import time
from collections import Counter

from _setup import bench_database, django_setup, median, start_worker, stop_worker

#: The `territories` configuration: one root territory per country, 10 reps and a rule each.
COUNTRIES = ("DE", "FR", "GB", "ES", "IT", "NL", "SE", "PL")
TERRITORY_REPS = 10


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


def build_territories() -> None:
    """Eight territories side by side, each with its own round-robin rule and reps."""
    from django.contrib.auth.models import User

    from apps.reps.models import Rep
    from apps.rules.models import RoutingRule
    from apps.territories.models import Territory

    for t, country in enumerate(COUNTRIES):
        territory = Territory.objects.create(code=f"T-{country}", name=country, countries=[country])
        for i in range(TERRITORY_REPS):
            rep = Rep.objects.create(user=User.objects.create(username=f"{country.lower()}{i:02d}"))
            rep.territories.set([territory])
        RoutingRule.objects.create(
            name=f"Territory {country}",
            position=200 + t,
            conditions=[{"field": "territory", "op": "within", "value": territory.code}],
            target={"territory": territory.code},
            strategy="round_robin",
        )


def make_leads(n: int, config: str) -> list[int]:
    from apps.leads.models import Lead

    def where(i: int) -> tuple[str, str]:
        if config == "hot":
            return "US", "US-CA"
        return COUNTRIES[i % len(COUNTRIES)], ""

    leads = Lead.objects.bulk_create(
        Lead(
            email=f"lead{time.monotonic_ns()}-{i}@example{i % 97}.com",
            email_domain=f"example{i % 97}.com",
            country=where(i)[0],
            region=where(i)[1],
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


def measure_routing(n: int, config: str) -> float:
    """Leads/s from the first task sent until every lead is assigned *and* every task has run.

    A task may route other waiting leads with its own (ROUTING_BATCH_SIZE); their own tasks
    still cost the worker a round trip, so the clock stops only when the queue is drained too.
    """
    from django.conf import settings
    from redis import Redis

    from apps.leads.models import Lead
    from apps.routing.tasks import route_lead

    redis = Redis.from_url(settings.REDIS_URL)
    ids = make_leads(n, config)
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


def _ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def layouts(processes: list[int], hosts: list[int]) -> list[tuple[int, int]]:
    """(worker instances, processes each) for every total that splits evenly."""
    return [
        (count, total // count)
        for total in processes
        for count in hosts
        if total % count == 0 and total // count >= 1
    ]


def run_layout(
    instances: int, each: int, configs: list[str], *, leads: int, runs: int
) -> tuple[float, dict[str, float]]:
    """Start `instances` workers of `each` processes; the no-op and routing medians."""
    workers = [start_worker(concurrency=each, name=f"bench{k + 1}") for k in range(instances)]
    try:
        measure_noop(200)  # warm-up
        for config in configs:
            measure_routing(200, config)
        noop_rates: list[float] = []
        route_rates: dict[str, list[float]] = {config: [] for config in configs}
        for run in range(runs):
            noop_rates.append(measure_noop(leads))
            line = f"  run {run + 1}: no-op {noop_rates[-1]:6.0f} tasks/s"
            for config in configs:
                route_rates[config].append(measure_routing(leads, config))
                line += f"   {config} {route_rates[config][-1]:6.0f} leads/s"
            print(line, flush=True)
    finally:
        for worker in workers:
            stop_worker(worker)
    return median(noop_rates), {config: median(rates) for config, rates in route_rates.items()}


def exactness() -> None:
    from django.db.models import Count

    from apps.routing.models import Assignment, RotationState

    per_rule: dict[str, Counter[int]] = {}
    for name, rep_id, n in (
        Assignment.objects.values_list("rule__name", "rep_id")
        .annotate(n=Count("id"))
        .values_list("rule__name", "rep_id", "n")
    ):
        per_rule.setdefault(name, Counter())[rep_id] = n
    for name, per_rep in sorted(per_rule.items()):
        state = RotationState.objects.get(rule__name=name)
        spread = max(per_rep.values()) - min(per_rep.values())
        print(
            f"  {name:14} assignments {sum(per_rep.values()):6}, reps {len(per_rep):3}, "
            f"max-min per rep {spread} (exact rotation: <= 1), rotation counter {state.assignments}"
        )
    total = Assignment.objects.count()
    leads = Assignment.objects.values("lead_id").distinct().count()
    print(
        f"  all runs: {total} assignments for {leads} distinct leads "
        f"(double assignments: {total - leads})"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--reps", type=int, default=50, help="reps of the hot rule's territories")
    parser.add_argument(
        "--processes", default="2", help="worker processes in all, e.g. 1,2,4 (default 2)"
    )
    parser.add_argument(
        "--hosts",
        default="1",
        help="worker instances sharing them, e.g. 1,2 (two: two worker hosts' worth)",
    )
    parser.add_argument("--configs", default="hot,territories", help="hot, territories or both")
    args = parser.parse_args()
    configs = [name for name in args.configs.split(",") if name]
    assert set(configs) <= {"hot", "territories"}, configs

    # One scratch database per DATABASE_URL, so engineers sharing a server do not drop each other's.
    base_name = os.environ.get("DATABASE_URL", "").rsplit("/", 1)[-1] or "default"
    bench_database(f"routing_bench_throughput_{base_name}")
    django_setup()
    from django.conf import settings

    from routing_portal.celery import app

    app.control.purge()
    build_config(args.reps)
    build_territories()
    results: list[tuple[int, int, float, dict[str, float]]] = []
    for instances, each in layouts(_ints(args.processes), _ints(args.hosts)):
        print(f"{instances} worker instance(s) x {each} process(es):", flush=True)
        noop, routed = run_layout(instances, each, configs, leads=args.leads, runs=args.runs)
        results.append((instances, each, noop, routed))

    print()
    print(
        f"Sustained routing, PostgreSQL + Redis, ROUTING_BATCH_SIZE={settings.ROUTING_BATCH_SIZE}, "
        f"{args.leads} leads per run, median of {args.runs} runs; "
        f"hot: 21 rules, one matching, {args.reps} reps; "
        f"territories: {len(COUNTRIES)} rules x {TERRITORY_REPS} reps, leads spread evenly"
    )
    header = f"  {'workers x processes':20} {'no-op tasks/s':>14}"
    for config in configs:
        header += f" {config + ' leads/s':>20} {'ratio':>6}"
    print(header)
    for instances, each, noop, routed in results:
        row = f"  {f'{instances} x {each} = {instances * each}':20} {noop:14.0f}"
        for config in configs:
            row += f" {routed[config]:20.0f} {routed[config] / noop:6.2f}"
        print(row)
    print("  (budget: routing >= 0.60 x the no-op reference; hot rule >= 250 assignments/s)")
    print("Rotation exactness and double assignments over every run:")
    exactness()


if __name__ == "__main__":
    main()
