"""How soon after its SLA deadline a lead is moved: deadline timers vs the minute sweep alone.

Needs PostgreSQL and Redis (DATABASE_URL, REDIS_URL). Creates `--leads` assigned leads whose
deadlines fall at random moments over the next `--spread` seconds, starts a real Celery worker,
runs the beat's minute task once (it sweeps and arms the deadline timers), and waits until every
lead has been moved. Prints the lag (move time - deadline) percentiles, beside the lag the same
deadlines would have had with the minute sweep alone (the next tick after each deadline).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench REDIS_URL=redis://127.0.0.1:6379/13 \\
        python bench/sla_precision.py --leads 300
"""

from __future__ import annotations

import argparse
import math
import os
import random
import time
from datetime import timedelta

from _setup import bench_database, django_setup, median, start_worker, stop_worker
from sweep import build_config


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=300)
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--spread", type=float, default=55.0, help="deadlines over this many s")
    args = parser.parse_args()

    base_name = os.environ.get("DATABASE_URL", "").rsplit("/", 1)[-1] or "default"
    bench_database(f"bench_sla_precision_{base_name}")
    django_setup()
    from django.conf import settings
    from django.utils import timezone

    from apps.leads.models import Lead, LeadStatus
    from apps.routing.models import Assignment, AssignmentKind
    from apps.routing.tasks import reassign_inactive
    from routing_portal.celery import app

    ids = build_config(args.reps)
    app.control.purge()
    worker = start_worker(concurrency=2, name="sla", queues="sweeps,routing,notify")
    rng = random.Random(7)
    tick = timezone.now()
    reps = list(range(ids["first_rep"], ids["first_rep"] + args.reps))
    leads = [
        Lead(
            email=f"lead{n}@example{n % 97}.com",
            email_domain=f"example{n % 97}.com",
            country="US",
            region="US-CA",
            company_size=5000,
            status=LeadStatus.ASSIGNED,
            owner_id=reps[n % len(reps)],
            territory_id=ids["west"],
            rule_id=ids["rule"],
            created_at=tick - timedelta(minutes=30),
            assigned_at=tick - timedelta(minutes=30),
            sla_due_at=tick + timedelta(seconds=3 + rng.uniform(0, args.spread)),
        )
        for n in range(args.leads)
    ]
    Lead.objects.bulk_create(leads)
    Assignment.objects.bulk_create(
        Assignment(
            lead_id=lead.pk,
            rep_id=lead.owner_id,
            rule_id=ids["rule"],
            rule_name="Enterprise West",
            kind=AssignmentKind.AUTO,
            reason="bench",
            assigned_at=lead.assigned_at,
        )
        for lead in leads
    )
    due = {lead.pk: lead.sla_due_at for lead in leads}

    try:
        tick = timezone.now()
        reassign_inactive.apply_async()  # the beat's minute task: sweep, then arm the timers
        deadline = time.monotonic() + args.spread + 60
        moved: dict[int, object] = {}
        while time.monotonic() < deadline and len(moved) < len(due):
            time.sleep(1)
            moved = dict(
                Assignment.objects.filter(
                    lead_id__in=due, kind=AssignmentKind.REASSIGN_INACTIVITY
                ).values_list("lead_id", "assigned_at")
            )
    finally:
        stop_worker(worker)
        app.control.purge()

    lags = [(moved[pk] - due[pk]).total_seconds() for pk in moved]  # type: ignore[operator]
    # The minute sweep alone: the first tick (tick + k minutes) at or after each deadline.
    minute = [
        math.ceil((d - tick).total_seconds() / 60) * 60 - (d - tick).total_seconds()
        for d in due.values()
    ]
    print(
        f"{len(due)} leads due over {args.spread:.0f} s, precision "
        f"{settings.ROUTING_SLA_PRECISION_SECONDS} s: {len(moved)} moved"
    )
    if lags:
        print(
            f"  deadline timers: lag median {median(lags):.1f} s, p90 {_percentile(lags, 0.9):.1f} s, "
            f"max {max(lags):.1f} s, min {min(lags):.1f} s"
        )
    print(
        f"  minute sweep alone (same deadlines): lag median {median(minute):.1f} s, "
        f"p90 {_percentile(minute, 0.9):.1f} s, max {max(minute):.1f} s"
    )


if __name__ == "__main__":
    main()
