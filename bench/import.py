"""`import_leads` of a generated 100k-row CSV, imported and routed, beside the floor it stands on.

Prints, in the same run, on the same rows and the same configuration (20 rules in front of a
round-robin rule, 100 reps; 70% of the leads go round robin in US-WEST, 30% load-balanced
by a source rule):

- PostgreSQL COPY of the rows (already validated) into the leads table: the floor;
- `bulk_create` of the same rows (the model instances intake builds);
- `import_leads --no-route`: read, map, validate like the API, save in batches;
- `import_leads`: the same, routed in batches through leads_route (budget: 5,000 leads/s);

and where the routed import's time goes (reading, validation, saving, routing).

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/x REDIS_URL=redis://127.0.0.1:6379/13 \
       .venv/bin/python bench/import.py [--rows 100000] [--route-batch N]
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _setup import bench_database, django_setup
from route_throughput import build_config

HEADER = [
    "Email Address",
    "First Name",
    "Last Name",
    "Company Name",
    "Country",
    "State",
    "Employees",
    "Lead Source",
    "",  # the trailing empty column of many exports
]


def write_csv(path: Path, rows: int) -> None:
    rng = random.Random(17)
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\r\n")
        writer.writerow(HEADER)
        for i in range(rows):
            west = rng.random() < 0.7
            writer.writerow(
                [
                    f"Lead{i}@Example{i % 997}.com",
                    rng.choice(["Dana", "Lee", "Ana", "Kim", "Sam"]),
                    rng.choice(["Smith", "Nguyen", "Garcia", "Müller", "N/A"]),
                    f"Company {i % 5000}",
                    rng.choice(["United States", "USA", "US"]),
                    "CA" if west else "TX",
                    rng.choice(["10", "250", "5000", "Select"]),
                    "web" if west else f"source-{i % 20}",
                    "",
                ]
            )


def reset() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE leads_lead RESTART IDENTITY CASCADE")
        cursor.execute("UPDATE reps_rep SET open_leads_count = 0")
        cursor.execute("ANALYZE leads_lead")


def validated_leads(path: Path) -> list[Any]:
    """The file's rows as the import saves them (mapped, validated, keyed), unsaved."""
    from apps.core.csvfiles import csv_rows_open
    from apps.routing.import_columns import columns_resolve, row_payload
    from apps.routing.intake import lead_build
    from apps.routing.intake_serializer import LeadIntakeSerializer
    from apps.routing.lead_import import import_account, row_key

    account = import_account()
    leads = []
    with csv_rows_open(lambda: path.open("rb")) as rows:
        targets = columns_resolve(rows.header, explicit={})
        for _line, cells in rows.rows:
            serializer = LeadIntakeSerializer(data=row_payload(cells, targets))
            serializer.is_valid(raise_exception=True)
            data = dict(serializer.validated_data)
            data["email"] = data["email"].lower()
            data["external_id"] = row_key(data)
            leads.append(lead_build(data=data, submitted_by=account))
    return leads


def measure_copy(leads: list[Any]) -> float:
    from django.db import connection, transaction

    from apps.leads.models import Lead

    columns = [
        f.column
        for f in Lead._meta.concrete_fields
        if not f.primary_key and f.column not in ("updated_at",)
    ]
    names = [f.attname for f in Lead._meta.concrete_fields if f.column in columns]
    start = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        sql = f"COPY leads_lead ({', '.join(columns)}, updated_at) FROM STDIN"
        with cursor.cursor.copy(sql) as copy:
            for lead in leads:
                values = [getattr(lead, name) for name in names]
                copy.write_row([*(_copy_value(v) for v in values), lead.created_at])
    return time.perf_counter() - start


def _copy_value(value: Any) -> Any:
    import json

    return json.dumps(value) if isinstance(value, dict) else value


def measure_bulk_create(leads: list[Any]) -> float:
    from django.db import transaction

    from apps.leads.models import Lead

    start = time.perf_counter()
    for i in range(0, len(leads), 1000):
        with transaction.atomic():
            Lead.objects.bulk_create(leads[i : i + 1000])
    return time.perf_counter() - start


class Timers:
    """Time spent inside chosen functions of apps.routing.lead_import (patched for the run)."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = defaultdict(float)

    def wrap(self, module: Any, name: str, label: str) -> Callable[[], None]:
        original = getattr(module, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.spent[label] += time.perf_counter() - start

        setattr(module, name, timed)
        return lambda: setattr(module, name, original)


def measure_import(path: Path, *, route: bool, route_batch: int) -> tuple[float, Any, Timers]:
    from apps.routing import lead_import, planning
    from apps.routing import route as route_module
    from apps.routing.write_assignments import PostgresAssignmentWriter

    timers = Timers()
    undo = [
        timers.wrap(lead_import, "_row_check", "validate (per row)"),
        timers.wrap(lead_import, "_batch_insert", "save (one statement per batch)"),
        timers.wrap(lead_import, "leads_route_counted", "route (leads_route per batch)"),
        # Inside routing (already counted in its line above):
        timers.wrap(route_module, "leads_lock", "  - lock the leads (+ dedup probe)"),
        timers.wrap(planning, "decide", "  - engine decisions (1 per lead)"),
        timers.wrap(route_module, "routes_plan", "  - plan (locks, loads, decisions)"),
        timers.wrap(PostgresAssignmentWriter, "write", "  - write assignments+leads+counters"),
        timers.wrap(route_module, "outbox_write", "  - outbox rows (notifications)"),
    ]
    start = time.perf_counter()
    try:
        report = lead_import.leads_import(
            open_binary=lambda: path.open("rb"), route=route, route_batch=route_batch
        )
    finally:
        for restore in undo:
            restore()
    return time.perf_counter() - start, report, timers


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument(
        "--route-batch", type=int, default=None, help="leads per routing transaction"
    )
    args = parser.parse_args()

    base_name = os.environ.get("DATABASE_URL", "").rsplit("/", 1)[-1] or "default"
    bench_database(f"bench_import_{base_name}")
    django_setup()
    from routing_portal.celery import app

    build_config(100)
    n = args.rows
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "leads.csv"
        write_csv(path, n)
        size = path.stat().st_size
        print(f"{n:,} rows, {size / 2**20:.1f} MB, CRLF, a trailing empty column, placeholders")

        leads = validated_leads(path)
        reset()
        copy_s = measure_copy(leads)
        reset()
        for lead in leads:
            lead.pk = None
        bulk_s = measure_bulk_create(leads)
        reset()
        plain_s, plain, _ = measure_import(path, route=False, route_batch=args.route_batch)
        assert plain.imported == n, plain.as_dict()
        reset()
        routed_s, routed, timers = measure_import(path, route=True, route_batch=args.route_batch)
        assert routed.imported == n, routed.as_dict()
        app.control.purge()  # notification tasks queued on commit (no worker here)

    print(f"COPY of the rows:                   {n / copy_s:>9,.0f} rows/s  ({copy_s:.1f} s)")
    print(f"bulk_create of the rows:            {n / bulk_s:>9,.0f} rows/s  ({bulk_s:.1f} s)")
    print(f"import_leads --no-route:            {n / plain_s:>9,.0f} leads/s ({plain_s:.1f} s)")
    from django.conf import settings

    per_txn = args.route_batch or settings.IMPORT_ROUTING_BATCH_SIZE
    print(
        f"import_leads, routed ({per_txn}/txn):      {n / routed_s:>9,.0f} leads/s "
        f"({routed_s:.1f} s; budget 5,000 leads/s: {'met' if n / routed_s >= 5000 else 'NOT met'})"
    )
    print(f"  routing outcomes: {dict(routed.routed)}")
    print("  where the routed import's time goes:")
    accounted = 0.0
    for label, seconds in timers.spent.items():
        if not label.startswith(" "):
            accounted += seconds
        print(f"    {label:<40} {seconds:6.1f} s  {seconds / routed_s:5.0%}")
    rest = routed_s - accounted
    print(f"    {'csv reading, batching, rest':<40} {rest:6.1f} s  {rest / routed_s:5.0%}")


if __name__ == "__main__":
    main()
