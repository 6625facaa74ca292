"""Intake over HTTP: gunicorn (2 workers) on PostgreSQL + Redis, each figure beside its reference.

Prints, in the same run:
  * requests/s of `POST /api/leads/` (token auth, unique emails and external_ids) beside a bare DRF
    view that validates and inserts one row, served by the same gunicorn (budget: ratio >= 0.7);
    medians of --runs measurements of --seconds each, the two sides interleaved;
  * intake -> assigned latency at a steady --rate leads/s through a real Celery worker
    (-Q routing -c 2), beside a Celery no-op round trip and one ORM insert (budget: p50 <= 15 ms,
    p99 <= 50 ms).

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/x REDIS_URL=redis://127.0.0.1:6379/12 \
       .venv/bin/python bench/intake.py [--runs 3] [--seconds 10] [--clients 4] [--rate 50]
Figures only: nothing here asserts on time. Everything listens on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime

from _setup import ROOT, bench_database, django_setup, median, start_worker, stop_worker

HOST = "127.0.0.1"
_serial = itertools.count()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def start_gunicorn(port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DJANGO_ROOT_URLCONF": "bench.bare_urls",
        "DJANGO_CONN_MAX_AGE": "60",
        "DJANGO_DEBUG": "0",  # DEBUG records every query: not what production runs
        "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(50),
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_LOG_LEVEL": "WARNING",
        "ROUTING_INTAKE_THROTTLE": "1000000/s",  # the benchmark measures the view, not the limit
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "routing_portal.wsgi:application",
            "--workers",
            "2",
            "--bind",
            f"{HOST}:{port}",
            "--log-level",
            "warning",
            "--chdir",
            str(ROOT),
        ],
        cwd=ROOT,
        env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status in (200, 503):
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    sys.exit("gunicorn did not come up")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def lead_body(tag: str) -> bytes:
    n = next(_serial)
    return json.dumps(
        {
            "email": f"lead-{tag}-{n}@example{n % 97}.com",
            "external_id": f"{tag}-{n}",
            "first_name": "Dana",
            "company": "Acme",
            "country": "US",
            "region": "CA",
            "company_size": 100 + n % 5000,
        }
    ).encode()


class Client:
    """One keep-alive HTTP client (reconnects when gunicorn's sync worker closes)."""

    def __init__(self, port: int, token: str) -> None:
        self.conn = http.client.HTTPConnection(HOST, port, timeout=10)
        self.headers = {"Content-Type": "application/json", "Authorization": f"Token {token}"}

    def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        for attempt in range(2):
            try:
                self.conn.request("POST", path, body, self.headers)
                response = self.conn.getresponse()
                return response.status, response.read()
            except (http.client.HTTPException, OSError):
                self.conn.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")


def measure_rps(
    port: int, token: str, path: str, seconds: float, clients: int
) -> tuple[float, dict[int, int]]:
    """Requests/s with `clients` threads posting back to back for `seconds`."""
    tag = f"{path.strip('/').replace('/', '-')}-{time.monotonic_ns()}"
    counts: list[int] = [0] * clients
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def run(index: int) -> None:
        client = Client(port, token)
        while time.perf_counter() < stop_at:
            code, _ = client.post(path, lead_body(tag))
            counts[index] += 1
            with lock:
                statuses[code] = statuses.get(code, 0) + 1

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 30)
    return sum(counts) / (time.perf_counter() - start), statuses


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure_noop_round_trip(rate: float, seconds: float) -> list[float]:
    """ms from apply_async to the no-op having run (it INCRs a Redis key), at a steady rate."""
    from django.conf import settings
    from redis import Redis

    from apps.core.tasks import noop

    redis = Redis.from_url(settings.REDIS_URL)
    samples: list[float] = []
    total = int(rate * seconds)
    for i in range(total):
        key = f"bench:rt:{time.monotonic_ns()}"
        start = time.perf_counter()
        noop.apply_async((key,), queue="routing")
        deadline = start + 5
        while not redis.exists(key) and time.perf_counter() < deadline:
            time.sleep(0.0002)
        samples.append((time.perf_counter() - start) * 1000)
        redis.delete(key)
        time.sleep(max(0.0, (i + 1) / rate - (time.perf_counter() - start) - i / rate))
    return samples


def measure_orm_insert(n: int = 300) -> list[float]:
    from apps.leads.models import Lead

    samples = []
    for i in range(n):
        start = time.perf_counter()
        Lead.objects.create(
            email=f"orm-{time.monotonic_ns()}-{i}@example.com", email_domain="example.com"
        )
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def measure_intake_latency(
    port: int, token: str, rate: float, seconds: float
) -> dict[str, list[float]]:
    """Post at a steady rate; then read created_at -> assignment for each lead from the database."""
    from apps.leads.models import Lead
    from apps.routing.models import Assignment

    client = Client(port, token)
    tag = f"lat-{time.monotonic_ns()}"
    ids: list[int] = []
    post_ms: list[float] = []
    start = time.perf_counter()
    for i in range(int(rate * seconds)):
        target = start + i / rate
        time.sleep(max(0.0, target - time.perf_counter()))
        sent = time.perf_counter()
        code, body = client.post("/api/leads/", lead_body(tag))
        post_ms.append((time.perf_counter() - sent) * 1000)
        if code == 201:
            ids.append(json.loads(body)["id"])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if Lead.objects.filter(pk__in=ids, status="new").count() == 0:
            break
        time.sleep(0.2)
    leads = {lead.pk: lead for lead in Lead.objects.filter(pk__in=ids)}
    to_assigned: list[float] = []
    to_committed: list[float] = []
    for assignment in Assignment.objects.filter(lead_id__in=ids, kind__in=["auto", "duplicate"]):
        lead = leads[assignment.lead_id]
        created: datetime = lead.created_at
        to_assigned.append((assignment.assigned_at - created).total_seconds() * 1000)
        # The lead row is the routing transaction's last write: closest to its commit.
        to_committed.append((lead.updated_at - created).total_seconds() * 1000)
    unrouted = sum(1 for lead in leads.values() if lead.status != "assigned")
    return {
        "assigned": to_assigned,
        "committed": to_committed,
        "post": post_ms,
        "missing": [float(len(ids) - len(to_assigned))],
        "unrouted": [float(unrouted)],
    }


def build_config() -> str:
    """A small realistic configuration and a manager's token."""
    from django.contrib.auth.models import Group, User
    from rest_framework.authtoken.models import Token

    from apps.reps.models import Rep
    from apps.rules.models import RoutingRule
    from apps.territories.models import Territory

    amer = Territory.objects.create(code="AMER", name="Americas", countries=["US", "CA"])
    west = Territory.objects.create(code="US-WEST", name="US West", parent=amer, regions=["US-CA"])
    for i in range(20):
        rep = Rep.objects.create(user=User.objects.create(username=f"rep{i:03d}"))
        rep.territories.set([west if i % 2 == 0 else amer])
    for i in range(10):
        RoutingRule.objects.create(
            name=f"Source {i}",
            position=i,
            conditions=[{"field": "lead_source", "op": "eq", "value": f"source-{i}"}],
            target={"territory": "AMER"},
            strategy="load_balanced",
        )
    RoutingRule.objects.create(
        name="West",
        position=50,
        conditions=[{"field": "territory", "op": "within", "value": "US-WEST"}],
        target={"territory": "US-WEST"},
        strategy="round_robin",
    )
    manager = User.objects.create(username="bench-manager")
    manager.groups.add(Group.objects.get(name="RevOps managers"))
    return Token.objects.create(user=manager).key


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--latency-seconds", type=float, default=20.0)
    args = parser.parse_args()

    bench_database("routing_bench_intake")
    django_setup()
    from routing_portal.celery import app

    app.control.purge()
    token = build_config()
    port = free_port()
    web = start_gunicorn(port)
    try:
        measure_rps(port, token, "/api/leads/", 1.5, args.clients)  # warm both workers
        measure_rps(port, token, "/bench/bare-insert/", 1.5, args.clients)
        intake_rates, bare_rates = [], []
        for run in range(args.runs):
            bare, bare_codes = measure_rps(
                port, token, "/bench/bare-insert/", args.seconds, args.clients
            )
            intake, intake_codes = measure_rps(
                port, token, "/api/leads/", args.seconds, args.clients
            )
            bare_rates.append(bare)
            intake_rates.append(intake)
            print(
                f"run {run + 1}: bare insert {bare:6.0f} req/s {bare_codes}   "
                f"intake {intake:6.0f} req/s {intake_codes}   ratio {intake / bare:.2f}",
                flush=True,
            )
        app.control.purge()  # the throughput runs queued tasks no worker took
        # ... and left their leads `new`: drop them, or the latency run would start behind a
        # backlog of thousands (each task routes the oldest waiting leads with its own).
        from apps.leads.models import Lead

        Lead.objects.filter(status="new").delete()

        worker = start_worker(concurrency=2, name="bench-intake")
        try:
            measure_noop_round_trip(args.rate, 1.0)  # warm the pool
            noop_ms = measure_noop_round_trip(args.rate, min(10.0, args.latency_seconds))
            orm_ms = measure_orm_insert()
            measure_intake_latency(port, token, args.rate, 2.0)  # warm the routing config cache
            latency = measure_intake_latency(port, token, args.rate, args.latency_seconds)
        finally:
            stop_worker(worker)
    finally:
        stop(web)

    intake_med, bare_med = median(intake_rates), median(bare_rates)
    print()
    print(
        f"Intake throughput, gunicorn 2 sync workers, {args.clients} keep-alive clients, PostgreSQL + Redis"
    )
    print(
        f"  reference: bare DRF view, validate + insert one row  {bare_med:7.0f} req/s (median of {args.runs})"
    )
    print(
        f"  POST /api/leads/ (token, manager, enqueue)           {intake_med:7.0f} req/s (median of {args.runs})"
    )
    print(
        f"  ratio                                                {intake_med / bare_med:7.2f}  (budget >= 0.70)"
    )
    print()
    print(
        f"Intake -> assigned at {args.rate:.0f} leads/s for {args.latency_seconds:.0f} s, Celery worker -Q routing -c 2"
    )
    for name, values in (
        ("Celery no-op round trip (reference)", noop_ms),
        ("one ORM insert (reference)", orm_ms),
        ("POST /api/leads/ response", latency["post"]),
        ("created_at -> Assignment.assigned_at", latency["assigned"]),
        ("created_at -> routing write (lead.updated_at)", latency["committed"]),
    ):
        if values:
            print(
                f"  {name:46s} p50 {percentile(values, 0.5):7.1f} ms   p99 {percentile(values, 0.99):7.1f} ms   n={len(values)}"
            )
    print("  budget: intake -> assigned p50 <= 15 ms, p99 <= 50 ms")
    print(
        f"  leads not routed within 60 s: {latency['missing'][0]:.0f}; not assigned: {latency['unrouted'][0]:.0f}"
    )


if __name__ == "__main__":
    main()
