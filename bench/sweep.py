"""The SLA sweep on 1M leads with 10k overdue (budget: one full sweep <= 5 s).

Builds a fresh PostgreSQL database, inserts 1M leads with `INSERT ... SELECT generate_series`
(10k assigned and overdue with a current assignment each, 20k assigned and not yet due, the rest
contacted or closed), then times `sla_sweep` three times, re-arming the overdue leads between runs.
Printed beside it, in the same run: the candidate query alone (the partial index) and a full
scan of the lead table with the same predicate (what the index saves).

--probe also routes a fresh lead every 20 ms while each sweep runs, and for as long again without
one, and prints both latencies: what the sweep's page locks cost live routing (--page-size sets
the page, default ROUTING_SWEEP_PAGE_SIZE). `--probe other` routes leads of another territory
(EMEA, its own round-robin rule and reps) instead of the swept rule's: a page locks only the rows
its own leads could touch, so those should not wait on it at all; `--probe same` (the default)
routes leads of the swept rule, which queue behind each page holding its rotation row. --phases prints where the sweep's time went.

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/x REDIS_URL=redis://127.0.0.1:6379/13 \
       .venv/bin/python bench/sweep.py [--leads 1000000] [--overdue 10000] [--runs 3]
       [--page-size N] [--probe [same|other]] [--phases] [--profile]
(the scratch database is bench_sweep_<name of the DATABASE_URL database>)
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import multiprocessing
import os
import pstats
import time

from _setup import bench_database, django_setup, median


def build_config(reps: int) -> dict[str, int]:
    from django.contrib.auth.models import User

    from apps.reps.models import Rep
    from apps.rules.models import RoutingRule
    from apps.territories.models import Territory

    amer = Territory.objects.create(code="AMER", name="Americas", countries=["US", "CA"])
    west = Territory.objects.create(code="US-WEST", name="US West", parent=amer, regions=["US-CA"])
    for i in range(reps):
        rep = Rep.objects.create(
            user=User.objects.create(username=f"rep{i:03d}", email=f"rep{i:03d}@example.com")
        )
        rep.territories.set([west])
    rule = RoutingRule.objects.create(
        name="Enterprise West",
        position=0,
        conditions=[{"field": "territory", "op": "within", "value": "US-WEST"}],
        target={"territory": "US-WEST"},
        strategy="round_robin",
        sla_minutes=30,
    )
    first_rep = Rep.objects.order_by("pk").values_list("pk", flat=True).first()
    # Another region with its own rule and reps (created after the swept reps: their ids stay
    # contiguous), for `--probe other`.
    emea = Territory.objects.create(code="EMEA", name="EMEA", countries=["DE", "FR"])
    for i in range(10):
        rep = Rep.objects.create(
            user=User.objects.create(username=f"emea{i:02d}", email=f"emea{i:02d}@example.com")
        )
        rep.territories.set([emea])
    RoutingRule.objects.create(
        name="EMEA",
        position=1,
        conditions=[{"field": "territory", "op": "within", "value": "EMEA"}],
        target={"territory": "EMEA"},
        strategy="round_robin",
        sla_minutes=30,
    )
    RoutingRule.objects.create(
        name="Everyone else", position=2, target={"territory": "$lead"}, strategy="load_balanced"
    )
    return {"rule": rule.pk, "first_rep": first_rep or 0, "reps": reps, "west": west.pk}


def insert_leads(*, total: int, overdue: int, pending: int, ids: dict[str, int]) -> None:
    from django.db import connection

    reps, first_rep, rule, west = ids["reps"], ids["first_rep"], ids["rule"], ids["west"]
    # i <= overdue: assigned, due 1..60 min ago; then `pending` assigned and due in 29 min;
    # the rest contacted (10%), converted or disqualified.
    sql = f"""
    INSERT INTO leads_lead (email, email_domain, first_name, last_name, phone, company, title, city,
        country, region, postal_code, industry, lead_source, product_interest, company_size,
        language, extra, status, owner_id, territory_id, rule_id, created_at, updated_at,
        assigned_at, first_contacted_at, closed_at, sla_due_at, reassignment_count)
    SELECT 'lead' || i || '@example' || (i % 997) || '.com', 'example' || (i % 997) || '.com',
        'First', 'Last', '', 'Company ' || (i % 5000), '', '', 'US', 'US-CA', '', '', 'web', '',
        1000 + (i % 5000), 'en', '{{}}'::jsonb,
        CASE WHEN i <= {overdue} + {pending} THEN 'assigned'
             WHEN i % 10 = 0 THEN 'contacted'
             WHEN i % 3 = 0 THEN 'converted' ELSE 'disqualified' END,
        {first_rep} + (i % {reps}), {west}, {rule},
        now() - interval '30 days' + (i % 2592000) * interval '1 second', now(),
        CASE WHEN i <= {overdue} THEN now() - interval '30 minutes' - (i % 60) * interval '1 minute'
             WHEN i <= {overdue} + {pending} THEN now() - interval '1 minute'
             ELSE now() - interval '20 days' END,
        CASE WHEN i > {overdue} + {pending} THEN now() - interval '19 days' END,
        CASE WHEN i > {overdue} + {pending} AND i % 10 <> 0 THEN now() - interval '18 days' END,
        CASE WHEN i <= {overdue} THEN now() - (i % 60) * interval '1 minute'
             WHEN i <= {overdue} + {pending} THEN now() + interval '29 minutes'
             ELSE now() - interval '20 days' + interval '30 minutes' END,
        0
    FROM generate_series(1, {total}) AS i
    """
    with connection.cursor() as cursor:
        cursor.execute(sql)
        # Each open lead has its current assignment (the sweep ends it and starts the next).
        cursor.execute("""
            INSERT INTO routing_assignment (lead_id, rep_id, rule_id, rule_name, strategy, kind,
                reason, trace, assigned_at)
            SELECT id, owner_id, rule_id, 'Enterprise West', 'round_robin', 'auto', 'bench', '{}',
                   assigned_at
            FROM leads_lead WHERE status = 'assigned'
        """)
        cursor.execute("""
            UPDATE reps_rep r SET open_leads_count = c.n
            FROM (SELECT owner_id, count(*) n FROM leads_lead
                  WHERE status IN ('assigned', 'contacted') GROUP BY owner_id) c
            WHERE c.owner_id = r.id
        """)
        cursor.execute("ANALYZE")


def rearm(overdue_ids: list[int]) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """UPDATE leads_lead SET sla_due_at = now() - interval '5 minutes', reassignment_count = 0,
               escalated_at = NULL, sla_reminded_at = NULL, assigned_at = now() - interval '35 minutes'
               WHERE id = ANY(%s)""",
            [overdue_ids],
        )
        cursor.execute("ANALYZE leads_lead")


def reference_queries(now: object) -> tuple[float, float]:
    from django.db import connection

    from apps.leads.models import Lead

    start = time.perf_counter()
    list(
        Lead.objects.filter(status="assigned", escalated_at__isnull=True, sla_due_at__lte=now)
        .order_by("sla_due_at", "pk")
        .values_list("sla_due_at", "pk")[:500]
    )
    indexed = time.perf_counter() - start
    with connection.cursor() as cursor:
        cursor.execute("SET enable_indexscan = off; SET enable_bitmapscan = off")
        start = time.perf_counter()
        cursor.execute(
            "SELECT count(*) FROM leads_lead WHERE status = 'assigned' AND escalated_at IS NULL "
            "AND sla_due_at <= %s",
            [now],
        )
        cursor.fetchone()
        scan = time.perf_counter() - start
        cursor.execute("SET enable_indexscan = on; SET enable_bitmapscan = on")
    return indexed, scan


#: The sweep's phases, timed with --phases ("commit and rest": a page's time outside the others).
PHASES = ("_pages", "_lock_page", "_routing_load", "_move", "_flush", "leads_reassign_inactive")
#: Where each phase's function is looked up when called: (module, attribute) per phase.
PHASE_TARGETS = {
    "_pages": ("sla_sweep", "_pages"),
    "_lock_page": ("sla_pages", "_lock_page"),
    "_routing_load": ("sla_pages", "_routing_load"),
    "_move": ("sla_pages", "move"),
    "_flush": ("sla_pages", "_flush"),
    "leads_reassign_inactive": ("sla_sweep", "leads_reassign_inactive"),
}


def phase_timers() -> dict[str, float]:
    """Wrap the sweep's phase functions with wall-clock accumulators (seconds per phase)."""
    import functools

    from apps.routing import sla_pages, sla_sweep

    modules = {"sla_pages": sla_pages, "sla_sweep": sla_sweep}
    totals = dict.fromkeys(PHASES, 0.0)

    def timed(name: str, function):  # type: ignore[no-untyped-def]
        @functools.wraps(function)
        def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
            start = time.perf_counter()
            try:
                result = function(*args, **kwargs)
                if name == "_pages":  # a generator: time each page's query
                    return timed_pages(result)
                return result
            finally:
                totals[name] += time.perf_counter() - start

        return wrapper

    def timed_pages(pages):  # type: ignore[no-untyped-def]
        while True:
            start = time.perf_counter()
            try:
                page = next(pages)
            except StopIteration:
                return
            finally:
                totals["_pages"] += time.perf_counter() - start
            yield page

    for name in PHASES:
        module_name, attribute = PHASE_TARGETS[name]
        module = modules[module_name]
        setattr(module, attribute, timed(name, getattr(module, attribute)))
    return totals


def phases_line(totals: dict[str, float]) -> str:
    inner = sum(totals[name] for name in ("_lock_page", "_routing_load", "_move", "_flush"))
    parts = [
        f"candidate pages {totals['_pages']:.2f}",
        f"lock {totals['_lock_page']:.2f}",
        f"routing load {totals['_routing_load']:.2f}",
        f"decide {totals['_move']:.2f}",
        f"write {totals['_flush']:.2f}",
        f"commit and rest {totals['leads_reassign_inactive'] - inner:.2f}",
    ]
    return "  phases (s): " + ", ".join(parts)


class RoutingProbe:
    """Routes one fresh lead every `interval` seconds in its own process (own connection), as a
    worker would, and records how long each `lead_route` call took: what a sweep's locks cost
    live routing. A process, not a thread: a thread would wait on the sweep's GIL as well."""

    def __init__(
        self, interval: float = 0.02, *, country: str = "US", region: str = "US-CA"
    ) -> None:
        self.interval = interval
        self.country, self.region = country, region
        self.timings: list[float] = []
        context = multiprocessing.get_context("fork")
        self._stop = context.Event()
        self._receive, self._send = context.Pipe(duplex=False)
        self._process = context.Process(target=self._run, daemon=True)

    def _run(self) -> None:
        from django.db import connection

        from apps.leads.models import Lead
        from apps.routing.services import lead_route

        timings: list[float] = []
        try:
            while not self._stop.is_set():
                lead = Lead.objects.create(
                    email=f"probe{time.monotonic_ns()}@probe.example.com",
                    email_domain="probe.example.com",
                    country=self.country,
                    region=self.region,
                )
                start = time.perf_counter()
                lead_route(lead_id=lead.pk)
                timings.append(time.perf_counter() - start)
                self._stop.wait(self.interval)
        finally:
            self._send.send(timings)
            connection.close()

    def __enter__(self) -> RoutingProbe:
        from django.db import connections

        connections.close_all()  # the child must not share the parent's connection
        self._process.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.timings = self._receive.recv()
        self._process.join()

    def line(self) -> str:
        ms = sorted(t * 1000 for t in self.timings)
        if not ms:
            return "no probe"
        p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
        return f"p50 {median(ms):.1f} ms, p99 {p99:.1f} ms, max {ms[-1]:.1f} ms ({len(ms)} leads)"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--overdue", type=int, default=10_000)
    parser.add_argument("--pending", type=int, default=20_000)
    parser.add_argument("--reps", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--page-size", type=int, default=None, help="default: the sweep's own")
    parser.add_argument(
        "--profile", action="store_true", help="cProfile the last run; print the top functions"
    )
    parser.add_argument(
        "--probe",
        nargs="?",
        const="same",
        choices=["same", "other"],
        help="route a fresh lead every 20 ms during each sweep, and as long without one: "
        "a lead of the swept rule (same, the default) or of another territory's rule (other)",
    )
    parser.add_argument(
        "--phases", action="store_true", help="print where each run's time went, by sweep phase"
    )
    args = parser.parse_args()

    # One scratch database per DATABASE_URL, so engineers sharing a server do not drop each other's.
    base_name = os.environ.get("DATABASE_URL", "").rsplit("/", 1)[-1] or "default"
    bench_database(f"bench_sweep_{base_name}")
    django_setup()
    from django.utils import timezone

    from apps.leads.models import Lead
    from apps.routing.models import Assignment
    from apps.routing.sla import sla_sweep
    from routing_portal.celery import app

    ids = build_config(args.reps)
    start = time.perf_counter()
    insert_leads(total=args.leads, overdue=args.overdue, pending=args.pending, ids=ids)
    print(
        f"inserted {args.leads:,} leads ({args.overdue:,} overdue) in {time.perf_counter() - start:.1f} s"
    )
    overdue_ids = list(
        Lead.objects.filter(status="assigned", sla_due_at__lte=timezone.now()).values_list(
            "pk", flat=True
        )
    )
    assert len(overdue_ids) == args.overdue, len(overdue_ids)

    timings: list[float] = []
    totals = phase_timers() if args.phases else None
    for run in range(args.runs):
        if totals is not None:
            totals.update(dict.fromkeys(totals, 0.0))
        if run:
            rearm(overdue_ids)
        now = timezone.now()
        indexed, scan = reference_queries(now)
        before = Assignment.objects.count()
        profiler = cProfile.Profile() if args.profile and run == args.runs - 1 else None
        start = time.perf_counter()
        pages = {"batch_size": args.page_size} if args.page_size else {}
        where = {"country": "DE", "region": ""} if args.probe == "other" else {}
        probe = RoutingProbe(**where) if args.probe else contextlib.nullcontext()
        with probe:
            if profiler is not None:
                counts = profiler.runcall(sla_sweep, now=now, **pages)
            else:
                counts = sla_sweep(now=now, **pages)
        elapsed = time.perf_counter() - start
        if isinstance(probe, RoutingProbe):
            alone = RoutingProbe(**where)
            with alone:
                time.sleep(elapsed)
            print(
                f"  routing ({args.probe} rule) during the sweep: {probe.line()}; "
                f"without: {alone.line()}"
            )
        if profiler is not None:
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        timings.append(elapsed)
        moved = Assignment.objects.count() - before
        print(
            f"run {run + 1}: sweep {elapsed:.2f} s ({moved / elapsed:,.0f} moves/s) {counts}; "
            f"reference: candidate page via lead_sla_sweep_idx {indexed * 1000:.1f} ms, "
            f"full-table scan of the same predicate {scan * 1000:.0f} ms"
        )
        if totals is not None:
            print(phases_line(totals))
        app.control.purge()  # the notification tasks the sweep queued (no worker here)
    print(
        f"median sweep: {median(timings):.2f} s for {args.overdue:,} overdue of {args.leads:,} leads "
        f"(budget 5 s): {args.overdue / median(timings):,.0f} leads/s, "
        f"{median(timings) / args.overdue * 1000:.2f} ms per lead"
    )


if __name__ == "__main__":
    main()
