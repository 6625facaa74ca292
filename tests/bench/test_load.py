"""bench/load.py end to end at a low rate: real gunicorn, Celery worker and beat, run in the test
database (committed data: a transactional test), for a few seconds."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from django.db import connection

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

ROOT = Path(__file__).resolve().parents[2]
RATE, DURATION = 10, 8


def test_load_holds_a_low_rate_and_reports_every_figure(transactional_db) -> None:  # type: ignore[no-untyped-def]
    from apps.leads.models import Lead
    from apps.routing.models import Assignment

    db = connection.settings_dict
    url = (
        f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
        f"/{db['NAME']}"
    )
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "routing_portal.settings"}
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    command = [sys.executable, "bench/load.py", "--rate", str(RATE), "--duration", str(DURATION)]
    # The timeout bounds a hung process; it is not a performance limit.
    done = subprocess.run(
        [*command, "--in-place"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    out = done.stdout
    assert done.returncode == 0, done.stderr[-3000:]

    sent = RATE * DURATION
    assert f"Load: {RATE} leads/s for {DURATION} s, open loop" in out
    assert re.search(rf"^ +0-{DURATION}s +\d+\.\d/s .* errors: none ", out, re.M), out
    assert re.search(r"^ +overall +\d+\.\d/s .* errors: none .* n=\d+$", out, re.M), out
    assert f"Leads: {sent} sent, {sent} accepted, 0 errors; {sent} saved " in out
    assert len(re.findall(r"^  t= +\d+s  celery pool MB .* gunicorn MB ", out, re.M)) >= 2
    assert "worker RSS growth first->last: celery pool " in out
    assert "leads assigned twice: 0" in out
    assert re.search(
        r"^  error lines in the logs: \{'beat': 0, 'web': 0, 'worker-load': 0\}$", out, re.M
    )
    assert re.search(
        r"^verdict: (MET|MISSED) -- .* errors 0; backlog 0; assigned twice 0;", out, re.M
    )

    # What it printed is what the database holds: every lead routed, none twice.
    warm_up = max(10, RATE)
    assert Lead.objects.count() == warm_up + sent
    assert not Lead.objects.filter(status="new").exists()
    statuses = Counter(Lead.objects.order_by("pk")[warm_up:].values_list("status", flat=True))
    assert f"leads' statuses after routing: {dict(sorted(statuses.items()))}" in out
    routed = Counter(
        Assignment.objects.filter(kind__in=["auto", "duplicate"]).values_list("lead_id", flat=True)
    )
    assert max(routed.values()) == 1
    assert not Lead.objects.exclude(status="unrouted").filter(assignments__isnull=True).exists()
