"""Load test: intake held at a steady rate for minutes, with real workers routing.

On a scratch PostgreSQL database made from DATABASE_URL (dropped at the end), with the demo
organisation (its territories, 41 reps, its rules and accounts) and an integration account's
token, it starts on 127.0.0.1 with DJANGO_DEBUG=0: gunicorn (2 sync workers), a Celery worker
(-Q routing,notify,sweeps, prefork -c 2) and beat. Then it posts demo-like leads (3% repeat an
earlier email) at --rate leads/s for --duration s on an open-loop schedule: every request leaves
at its scheduled moment whatever the earlier ones are doing, and its latency counts from that
moment, so a stall shows in the figures instead of quietly slowing the load (no coordinated
omission).

Prints, per --window seconds and overall: responses/s achieved and leads/s saved, HTTP latency
p50/p90/p99/max,
errors by status, intake -> assigned p50/p99 (Assignment.assigned_at - Lead.created_at);
every --sample seconds the RSS of the Celery pool processes and the gunicorn workers, the leads
waiting `new` and the routing queue's depth; then the backlog left, leads assigned twice, and a
verdict against the DESIGN budget (intake -> assigned p50 <= 15 ms, p99 <= 50 ms at 50 leads/s).

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/x REDIS_URL=redis://127.0.0.1:6379/2 \
       .venv/bin/python bench/load.py [--rate 50] [--duration 180] [--routing-worker N]
--routing-worker N adds a worker of N processes for the routing queue alone (the first then takes
notify,sweeps); --log-level INFO --keep-logs keeps every task's run time for diagnosis.
Figures only: nothing here asserts on time. Every process it starts is stopped on exit (Ctrl-C
included).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from _loadgen import Response, Sample, Sampler, percentile, schedule
from _setup import bench_database, django_setup

from tests.faults.harness import Portal, wait_for

#: DESIGN.md "Performance budgets": intake -> assigned at 50 leads/s.
BUDGET_P50_MS, BUDGET_P99_MS = 15.0, 50.0
#: Memory counts as flat when the pool's RSS grows by at most this share from first to last sample.
FLAT_RSS_SHARE = 0.10
#: A response's status when there was no HTTP answer.
ERROR_NAMES = {0: "conn", -1: "timeout"}
#: The fault tests' harness tunes these for speed of recovery; a load test runs the defaults.
FAULT_TUNING = (
    "REDIS_CACHE_URL",
    "ROUTING_PENDING_GRACE_SECONDS",
    "ROUTING_BROKER_BREAKER_SECONDS",
    "ROUTING_BROKER_BREAKER_MAX_SECONDS",
    "ROUTING_INTAKE_THROTTLE",
)


class LoadPortal(Portal):
    """The fault tests' processes with production settings (and the user's overrides), any
    queues per worker, beat, and a warm shutdown."""

    def __init__(
        self, *, database_url: str, broker_url: str, var_dir: Path, log_level: str
    ) -> None:
        super().__init__(database_url=database_url, broker_url=broker_url, var_dir=var_dir)
        for key in FAULT_TUNING:
            self.env.pop(key, None)
            if key in os.environ:
                self.env[key] = os.environ[key]
        self.log_level = log_level

    def celery(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "celery", "-A", "routing_portal", *args]
        return self._spawn([*command, f"--loglevel={self.log_level}"], name)

    def worker(
        self, name: str = "w1", *, concurrency: int = 2, queues: str = "routing,notify,sweeps"
    ) -> subprocess.Popen[bytes]:
        return self.celery(
            f"worker-{name}",
            *("worker", "-P", "prefork", f"--concurrency={concurrency}", "-Q", queues),
            *("-n", f"{name}@%h", "--without-mingle", "--without-gossip"),
        )

    def stop(self) -> None:
        """SIGTERM to each leader first: Celery finishes its tasks and gunicorn its requests
        (a signal to the whole group would kill the pool mid-task); then whatever is left."""
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=30)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        self.processes.clear()

    def log_names(self) -> list[str]:
        return sorted(path.stem for path in self.var_dir.glob("*.log"))


# --- set-up -------------------------------------------------------------------------------------


def build_config() -> tuple[str, str]:
    """The demo organisation and an integration account's token; a one-line description."""
    from django.contrib.auth.models import Permission, User
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from apps.demo.organisation import organisation_seed
    from apps.reps.models import Rep
    from apps.rules.models import RoutingRule
    from apps.territories.models import Territory

    organisation_seed(now=timezone.now())
    account = User.objects.create(username="load-webform")
    account.user_permissions.add(
        Permission.objects.get(codename="add_lead", content_type__app_label="leads")
    )
    described = (
        f"demo organisation: {Territory.objects.count()} territories, {Rep.objects.count()} reps, "
        f"{RoutingRule.objects.filter(active=True).count()} active rules"
    )
    return Token.objects.create(user=account).key, described


def lead_bodies(count: int, seed: int) -> list[bytes]:
    """JSON bodies of demo-like leads (apps/demo/leads.py), created now rather than in the past."""
    from django.utils import timezone

    from apps.demo.leads import lead_rows

    rows = lead_rows(count, seed=seed, rng=random.Random(seed), now=timezone.now())
    random.Random(seed).shuffle(rows)  # duplicates among the rest, not bunched by created_at
    bodies = []
    for row in rows:
        row.pop("created_at")
        payload = {k: v for k, v in row.items() if v not in (None, "", {})}
        bodies.append(json.dumps(payload, default=str).encode())
    return bodies


def drop_database(url: str) -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    base, name = url.rsplit("/", 1)
    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


_began = time.monotonic()


def progress(what: str) -> None:
    """A progress line on stderr (the figures go to stdout)."""
    print(f"[{time.monotonic() - _began:5.1f} s] {what}", file=sys.stderr, flush=True)


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


# --- report -------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What the database says after the run."""

    first: dict[int, float]  # accepted lead -> ms from created_at to its first assignment
    statuses: Counter[str]  # of the accepted leads
    twice: int  # leads with more than one first-routing assignment
    saved_at: list[float]  # when each lead was saved (s from the start), accepted or not
    backlog_at_end: int  # leads `new` when the schedule ended
    backlog: int  # leads `new` after draining
    log_errors: dict[str, int]


def routing_outcome(ids: list[int]) -> tuple[dict[int, float], Counter[str], int]:
    """Per lead: ms from created_at to its first routing assignment; statuses; leads assigned twice."""
    from apps.leads.models import Lead
    from apps.routing.models import Assignment

    created = dict(Lead.objects.filter(pk__in=ids).values_list("pk", "created_at"))
    statuses = Counter(Lead.objects.filter(pk__in=ids).values_list("status", flat=True))
    first: dict[int, float] = {}
    routed = Counter[int]()
    for lead_id, assigned_at in (
        Assignment.objects.filter(lead_id__in=ids, kind__in=["auto", "duplicate"])
        .order_by("assigned_at")
        .values_list("lead_id", "assigned_at")
    ):
        routed[lead_id] += 1
        first.setdefault(lead_id, (assigned_at - created[lead_id]).total_seconds() * 1000)
    return first, statuses, sum(1 for n in routed.values() if n > 1)


def window_line(
    label: str, responses: list[Response], rates: tuple[float, float], assigned: list[float]
) -> str:
    ms = [r.ms for r in responses if r.status > 0]
    errors = Counter(r.status for r in responses if r.status not in (200, 201))
    shown = ", ".join(f"{ERROR_NAMES.get(s, s)}x{n}" for s, n in sorted(errors.items()))
    return (
        f"{label:>9}  {rates[0]:6.1f}/s {rates[1]:6.1f}/s  "
        f"{percentile(ms, 0.5):6.1f} {percentile(ms, 0.9):6.1f} {percentile(ms, 0.99):6.1f} "
        f"{max(ms, default=float('nan')):7.1f}  errors: {shown or 'none':<12} "
        f"{percentile(assigned, 0.5):6.1f} {percentile(assigned, 0.99):6.1f}  n={len(assigned)}"
    )


def report(
    args: argparse.Namespace,
    responses: list[Response],
    samples: list[Sample],
    outcome: Outcome,
) -> None:
    first = outcome.first
    print(
        f"\nPer {args.window:.0f}-s window: 2xx responses/s completed in it (achieved) and leads/s "
        "the web saved in it;\nlatencies (in ms) of the requests scheduled in it, HTTP counted "
        "from the scheduled send"
    )
    print(
        "   window  achieved   saved   http p50    p90    p99     max  errors           "
        "intake->assigned p50 p99"
    )
    windows = max(1, int(-(-args.duration // args.window)))
    for w in range(windows):
        lo, hi = w * args.window, min((w + 1) * args.window, args.duration)
        inside = [r for r in responses if lo <= r.scheduled < hi]
        assigned = [first[r.lead_id] for r in inside if r.lead_id in first]
        achieved = sum(1 for r in responses if r.status in (200, 201) and lo <= r.done < hi)
        saved = sum(1 for at in outcome.saved_at if lo <= at < hi)
        rates = (achieved / (hi - lo), saved / (hi - lo))
        print(window_line(f"{lo:.0f}-{hi:.0f}s", inside, rates, assigned))
    all_assigned = list(first.values())
    ok = sum(1 for r in responses if r.status in (200, 201))
    last = max((r.done for r in responses), default=args.duration)
    achieved = ok / max(args.duration, last)
    saved = len(outcome.saved_at) / max([args.duration, *outcome.saved_at])
    print(window_line("overall", responses, (achieved, saved), all_assigned))

    print(f"\nEvery {args.sample:.0f} s: RSS of the Celery pool processes and gunicorn's workers")
    for s in samples:
        pool = " + ".join(f"{kb / 1024:5.1f}" for kb in s.pool_kb.values())
        web = " + ".join(f"{kb / 1024:5.1f}" for kb in s.web_kb.values())
        print(
            f"  t={s.at:5.0f}s  celery pool MB {pool}   gunicorn MB {web}   "
            f"leads new {s.new:5d}   routing queue {s.queued:5d}"
        )
    growth = share = 0.0
    if len(samples) >= 2:
        before, after = sum(samples[0].pool_kb.values()), sum(samples[-1].pool_kb.values())
        web_before, web_after = sum(samples[0].web_kb.values()), sum(samples[-1].web_kb.values())
        growth, share = (after - before) / 1024, (after - before) / max(before, 1)
        replaced = set(samples[0].pool_kb) != set(samples[-1].pool_kb)
        print(
            f"  worker RSS growth first->last: celery pool {growth:+.1f} MB ({share:+.1%})"
            f"{' (a pool process was replaced)' if replaced else ''}, "
            f"gunicorn {(web_after - web_before) / 1024:+.1f} MB "
            f"({(web_after - web_before) / max(web_before, 1):+.1%})"
        )

    sent = len(responses)
    errors = sent - ok
    print(
        f"\nLeads: {sent} sent, {ok} accepted, {errors} errors; {len(outcome.saved_at)} saved "
        "(a request the client gave up on may still be saved)"
    )
    print(f"  accepted leads' statuses after routing: {dict(sorted(outcome.statuses.items()))}")
    print(
        f"  routing backlog: {outcome.backlog_at_end} new when the schedule ended, "
        f"{outcome.backlog} still new after up to {args.drain:.0f} s of draining"
    )
    print(f"  leads assigned twice: {outcome.twice}")
    print(f"  error lines in the logs: {outcome.log_errors}")

    p50, p99 = percentile(all_assigned, 0.5), percentile(all_assigned, 0.99)
    held = achieved >= 0.98 * args.rate
    met = held and errors == 0 and p50 <= BUDGET_P50_MS and p99 <= BUDGET_P99_MS
    flat = share <= FLAT_RSS_SHARE
    print(
        f"\nverdict: {'MET' if met else 'MISSED'} -- intake -> assigned p50 {p50:.1f} ms "
        f"(budget <= {BUDGET_P50_MS:.0f}), p99 {p99:.1f} ms (budget <= {BUDGET_P99_MS:.0f}) "
        f"at {achieved:.1f} of {args.rate:.0f} leads/s{'' if held else ' (rate not held)'}; "
        f"errors {errors}; backlog {outcome.backlog}; assigned twice {outcome.twice}; "
        f"worker memory {'flat' if flat else 'GROWING'} ({growth:+.1f} MB, {share:+.1%})"
    )


def workers_described(args: argparse.Namespace) -> str:
    if args.routing_worker:
        return f"-Q routing -c {args.routing_worker}, -Q notify,sweeps -c {args.concurrency}"
    return f"-Q routing,notify,sweeps -c {args.concurrency}"


def log_error_counts(portal: LoadPortal) -> dict[str, int]:
    counts = {}
    for name in portal.log_names():
        text = portal.log(name)
        counts[name] = sum(
            1 for line in text.splitlines() if "ERROR" in line or "Traceback" in line
        )
    return counts


# --- main ---------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=50.0, help="leads/s (default 50)")
    parser.add_argument("--duration", type=float, default=180.0, help="seconds (default 180)")
    parser.add_argument("--window", type=float, default=30.0, help="report window, s")
    parser.add_argument("--sample", type=float, default=10.0, help="memory sample interval, s")
    parser.add_argument("--concurrency", type=int, default=2, help="Celery pool processes")
    parser.add_argument("--no-beat", action="store_true", help="run without celery beat")
    parser.add_argument("--timeout", type=float, default=30.0, help="per request, s")
    parser.add_argument("--drain", type=float, default=60.0, help="max wait for the backlog, s")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument(
        "--routing-worker",
        type=int,
        default=0,
        metavar="N",
        help="a worker of N processes for -Q routing alone (the other takes notify,sweeps)",
    )
    parser.add_argument("--keep-logs", action="store_true", help="keep the processes' logs")
    parser.add_argument(
        "--log-level", default="WARNING", help="Celery's (INFO logs every task's run time)"
    )
    parser.add_argument(
        "--in-place",
        action="store_true",
        help="use DATABASE_URL's own database (migrated, empty, kept) instead of a scratch one",
    )
    return parser.parse_args()


def run(args: argparse.Namespace, portal: LoadPortal) -> None:
    django_setup()
    progress("database migrated")
    from django.conf import settings
    from redis import Redis

    from apps.core.tasks import noop
    from apps.leads.models import Lead
    from routing_portal.celery import app

    app.control.purge()
    token, described = build_config()
    warm = max(10, int(args.rate))
    bodies = lead_bodies(warm + int(args.rate * args.duration), args.seed)
    progress(f"demo organisation seeded, {len(bodies)} lead bodies generated")
    web = portal.web()
    if args.routing_worker:
        # The operations guide's advice: routing on its own processes, never behind mail.
        workers = [
            portal.worker("routing", concurrency=args.routing_worker, queues="routing"),
            portal.worker("load", concurrency=args.concurrency, queues="notify,sweeps"),
        ]
    else:
        workers = [portal.worker("load", concurrency=args.concurrency)]
    if not args.no_beat:
        portal.celery("beat", "beat")
    rates = cast(dict[str, dict[str, str]], settings.REST_FRAMEWORK)["DEFAULT_THROTTLE_RATES"]
    key = f"load:ready:{uuid.uuid4().hex}"
    noop.apply_async((key,), queue="routing")
    redis = Redis.from_url(settings.REDIS_URL)
    wait_for(lambda: redis.exists(key), timeout=90, what="the Celery worker to take a task")
    redis.delete(key)
    print(
        f"Load: {args.rate:.0f} leads/s for {args.duration:.0f} s, open loop; gunicorn 2 sync "
        f"workers; Celery {workers_described(args)}{'' if args.no_beat else ' + beat'}; "
        f"DJANGO_DEBUG=0; {described}; "
        f"intake throttle {rates['intake']}",
        flush=True,
    )
    # Warm-up: every gunicorn and pool process has loaded its code and routing configuration.
    asyncio.run(schedule(portal.web_port, token, bodies[:warm], args.rate, time.monotonic(), 30))
    wait_for(lambda: not Lead.objects.filter(status="new").exists(), timeout=60, what="warm-up")
    progress(f"warm-up: {warm} leads routed; holding the rate now")

    start = time.monotonic() + 0.5
    start_wall = time.time() + 0.5
    sampler = Sampler(workers=[w.pid for w in workers], web=web.pid, start=start, every=args.sample)
    sampler.start()
    try:
        responses = asyncio.run(
            schedule(portal.web_port, token, bodies[warm:], args.rate, start, args.timeout)
        )
        backlog_at_end = Lead.objects.filter(status="new").count()
        drain_until = time.monotonic() + args.drain
        while Lead.objects.filter(status="new").exists() and time.monotonic() < drain_until:
            time.sleep(0.5)
    finally:
        sampler.stopping.set()  # also on Ctrl-C: no sample may query a dropped database
        sampler.join(timeout=30)
    sampler.take()
    progress("schedule done, backlog drained")
    ids = [r.lead_id for r in responses if r.lead_id is not None]
    first, statuses, twice = routing_outcome(ids)
    outcome = Outcome(
        first=first,
        statuses=statuses,
        twice=twice,
        saved_at=[
            created.timestamp() - start_wall
            for created in Lead.objects.order_by("pk").values_list("created_at", flat=True)[warm:]
        ],
        backlog_at_end=backlog_at_end,
        backlog=Lead.objects.filter(status="new").count(),
        log_errors=log_error_counts(portal),
    )
    report(args, responses, sampler.samples, outcome)


def main() -> None:
    args = parse_args()
    if args.in_place:
        url = os.environ.get("DATABASE_URL", "")
        if not url.startswith("postgres") or not os.environ.get("REDIS_URL", "").startswith(
            "redis"
        ):
            sys.exit("Set DATABASE_URL=postgres://... and REDIS_URL=redis://... to run this.")
    else:
        base = os.environ.get("DATABASE_URL", "").split("?")[0]
        url = bench_database(f"{base.rsplit('/', 1)[-1] or 'routing'}_load")
    signal.signal(signal.SIGTERM, _raise_interrupt)
    var_dir = Path(tempfile.mkdtemp(prefix="rp-load-"))
    portal = LoadPortal(
        database_url=url,
        broker_url=os.environ["REDIS_URL"],
        var_dir=var_dir,
        log_level=args.log_level,
    )
    failed, interrupted = True, False
    try:
        run(args, portal)
        failed = False
    except KeyboardInterrupt:
        interrupted = True
        print("interrupted: stopping what was started", file=sys.stderr)
    finally:
        portal.stop()
        progress("processes stopped")
        if failed and not interrupted:
            for name in portal.log_names():
                tail = portal.log(name).splitlines()[-15:]
                if tail:
                    print(f"--- last lines of {name}.log ---", *tail, sep="\n", file=sys.stderr)
        try:
            from routing_portal.celery import app

            app.control.purge()  # what the workers did not take, so no later run inherits it
        except Exception as error:  # clean-up goes on whatever failed
            print(f"could not purge the queues: {error}", file=sys.stderr)
        if not args.in_place:
            drop_database(url)
            progress("scratch database dropped")
        if args.keep_logs:
            print(f"logs of web, worker and beat kept in {var_dir}", file=sys.stderr)
        else:
            shutil.rmtree(var_dir, ignore_errors=True)
    if failed:
        sys.exit(130 if interrupted else 1)


if __name__ == "__main__":
    main()
