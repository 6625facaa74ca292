"""route_pending draining a backlog: the leads a broker outage left `new`.

Prints, in the same run and on the same configuration (20 rules in front of a round-robin rule,
100 reps): the backlog routed by `route_pending` in batches of ROUTING_BATCH_SIZE (default 50),
and the same backlog routed one lead per transaction (batch size 1, the reference: what
route_pending did before batching). No budget in DESIGN.md: after an outage the backlog should
drain within a few beat runs, not hours.

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/x REDIS_URL=redis://127.0.0.1:6379/13 \
       .venv/bin/python bench/pending.py [--leads 5000] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import timedelta

from _setup import bench_database, django_setup, median
from route_throughput import build_config, make_leads


def drain(leads: int, batch: int) -> tuple[float, dict[str, int]]:
    from django.conf import settings
    from django.db import connection

    from apps.routing.tasks import route_pending

    make_leads(leads)
    settings.ROUTING_BATCH_SIZE = batch
    start = time.perf_counter()
    counts = route_pending()
    elapsed = time.perf_counter() - start
    assert counts == {"assigned": leads}, counts
    with connection.cursor() as cursor:  # next run starts from the same loads
        cursor.execute("UPDATE leads_lead SET status = 'converted' WHERE status = 'assigned'")
        cursor.execute("UPDATE reps_rep SET open_leads_count = 0")
    return elapsed, counts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    base_name = os.environ.get("DATABASE_URL", "").rsplit("/", 1)[-1] or "default"
    bench_database(f"bench_pending_{base_name}")
    django_setup()
    from django.conf import settings

    from routing_portal.celery import app

    settings.ROUTING_PENDING_GRACE = timedelta(0)  # the backlog is due at once
    build_config(100)
    batch_size = settings.ROUTING_BATCH_SIZE
    batched, single = [], []
    for run in range(args.runs):
        b, _ = drain(args.leads, batch_size)
        s, _ = drain(args.leads, 1)
        batched.append(b)
        single.append(s)
        print(
            f"run {run + 1}: batches of {batch_size}: {args.leads / b:,.0f} leads/s; "
            f"one per transaction: {args.leads / s:,.0f} leads/s"
        )
        app.control.purge()  # the notification tasks queued on commit (no worker here)
    b, s = median(batched), median(single)
    print(
        f"median: route_pending drains {args.leads:,} leads at {args.leads / b:,.0f} leads/s "
        f"in batches of {batch_size} vs {args.leads / s:,.0f} leads/s one by one "
        f"({s / b:.1f}x); a 30,000-lead backlog: {30_000 / (args.leads / b):.0f} s"
    )


if __name__ == "__main__":
    main()
