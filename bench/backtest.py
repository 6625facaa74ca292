"""Backtest of the live configuration over the last quarter of a seeded database.

Reads the database named by DATABASE_URL as it is (seed it first: ``manage.py seed_demo``, 3,000
leads over 90 days by default; ``--leads`` for more), exports the live configuration as the
draft, and times ``routing_backtest`` over the last 92 days: the whole service (validation,
reads, replay, report) and, apart, the reads and the replay. Prints medians of 3 runs after one
warm-up. Figures, never pass/fail. Writes nothing.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/demo REDIS_URL=redis://127.0.0.1:6379/13 \\
        DJANGO_DEBUG=1 .venv/bin/python bench/backtest.py
"""

from __future__ import annotations

import datetime
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "routing_portal.settings")
    import django

    django.setup()
    from django.utils import timezone

    from apps.configuration.export import routing_config_export
    from apps.leads.models import Lead
    from apps.routing.backtest import routing_backtest
    from apps.routing.backtest_report import backtest_report

    if not Lead.objects.exists():
        sys.exit("No leads: run `manage.py seed_demo` on this database first.")
    document = routing_config_export()
    end = timezone.now().date()
    start = end - datetime.timedelta(days=91)

    def once() -> tuple[float, float, dict[str, object]]:
        began = time.perf_counter()
        run = routing_backtest(document=document, start=start, end=end)
        report = backtest_report(run)
        return time.perf_counter() - began, run.seconds, report

    once()  # warm-up: plans, caches, compiled regexes
    samples = [once() for _ in range(3)]
    total = statistics.median(s[0] for s in samples)
    service = statistics.median(s[1] for s in samples)
    report = samples[-1][2]
    leads = int(report["leads"])  # type: ignore[call-overload]
    print(f"window {start} to {end}: {leads} leads, {len(report['per_rep'])} reps")  # type: ignore[arg-type]
    print(
        f"backtest (validate, read, replay): {service:.2f}s median, {leads / service:,.0f} leads/s"
    )
    print(f"with the report (sample traces):   {total:.2f}s median")
    print(f"changed {report['changed']['count']}, balance {report['balance']}")  # type: ignore[index]


if __name__ == "__main__":
    main()
