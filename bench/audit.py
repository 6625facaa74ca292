"""The quarterly rule audit over a quarter of leads, beside raw reference reads.

Builds a configuration (10 territories, 60 reps, 40 rules with one to three conditions each,
recorded as 30 versions over the quarter, most of them reps' time-off changes that leave the
rules alone) and N leads (default 200,000) over the last 90 days, each with the automatic
assignment that routed it, in a fresh PostgreSQL database (set DATABASE_URL; the database named
by BENCH_DB, default ``bench_audit``, is dropped and created). Then times, through the full
Django stack (a manager's token, the form, the selector, JSON), ``GET /api/audit/rules/`` over
those 90 days: its figures, the replay of every lead against the rules of the version that
decided it (for ``matched`` and ``shadowed_by``) and the change history. Beside it, in the same
run: a raw ``GROUP BY rule_id`` count of the assignments (what hits alone cost) and a raw
fetch of the columns the replay reads (what streaming the leads alone costs). Prints medians of
3 runs after one warm-up. Figures, never pass/fail.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/x REDIS_URL=redis://127.0.0.1:6379/13 \\
        .venv/bin/python bench/audit.py [--leads 200000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

from _setup import bench_database, django_setup

COUNTRIES = ["US", "CA", "GB", "DE", "FR", "JP", "AU", "BR", "IN", "ES"]
SOURCES = ["web", "event", "partner", "ads", "webinar"]


def _timed(run: Callable[[], object], repeat: int = 3) -> float:
    run()  # warm-up: plans and caches
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        run()
        samples.append(time.perf_counter() - began)
    return statistics.median(samples)


def _document(version: int) -> dict[str, Any]:
    territories = [{"code": f"T-{c}", "name": c, "countries": [c]} for c in COUNTRIES]
    reps = [
        {
            "username": f"rep{n:02d}",
            "territories": [f"T-{COUNTRIES[n % 10]}"],
            # A time-off change per version: new versions, the same rules.
            "max_open_leads": 100 + (version if n == 0 else 0),
        }
        for n in range(60)
    ]
    rules = []
    for n in range(40):
        conditions: list[dict[str, Any]] = [
            {"field": "country", "op": "in", "value": COUNTRIES[n % 10 : n % 10 + 2]}
        ]
        if n % 2:
            conditions.append({"field": "company_size", "op": "gte", "value": 50 * (n % 7)})
        if n % 3 == 0:
            conditions.append({"field": "lead_source", "op": "eq", "value": SOURCES[n % 5]})
        rules.append(
            {
                "key": f"rule-{n}",
                "name": f"Rule {n}" + (" (renamed)" if version >= 20 and n == 5 else ""),
                "conditions": conditions,
                "target": {"territory": f"T-{COUNTRIES[n % 10]}"},
            }
        )
    rules.append({"key": "catch-all", "name": "Catch-all", "target": {"territory": "T-US"}})
    return {"territories": territories, "reps": reps, "accounts": [], "rules": rules}


def _populate(leads: int) -> None:
    from django.contrib.auth.models import Group, User
    from django.db import connection

    from apps.configuration.models import RoutingConfigVersion
    from apps.configuration.services import routing_config_apply

    editor = User.objects.create(username="editor")
    editor.groups.add(Group.objects.get(name="RevOps managers"))
    for version in range(30):
        routing_config_apply(document=_document(version), actor=editor, source="api")
    with connection.cursor() as cursor:
        # Spread the versions over the quarter, oldest first (a bench may rewrite history).
        cursor.execute(
            "UPDATE configuration_routingconfigversion SET created_at = now() - "
            "make_interval(days => 91 - number * 3)"
        )
        cursor.execute("SELECT min(id), max(id) FROM reps_rep")
        low_rep, high_rep = cursor.fetchone()
        cursor.execute("SELECT min(id), max(id) FROM rules_routingrule")
        low_rule, high_rule = cursor.fetchone()
        cursor.execute(
            """
            INSERT INTO leads_lead (email, email_domain, first_name, last_name, phone, company,
              title, city, country, region, postal_code, industry, lead_source,
              product_interest, language, extra, status, created_at, updated_at,
              reassignment_count, owner_id, assigned_at, sla_due_at, first_contacted_at,
              company_size)
            SELECT 'l' || g || '@x' || (g %% 5000) || '.com', 'x' || (g %% 5000) || '.com',
              'F', 'L', '', 'Co', '', '', (%s::text[])[1 + g %% 10], '', '', '',
              (%s::text[])[1 + g %% 5], '', '', '{}',
              CASE WHEN g %% 9 = 0 THEN 'converted' ELSE 'contacted' END, c, c, 0,
              %s + (g %% %s), c, c + interval '1 hour',
              c + make_interval(secs => exp(random() * 10)), (g * 7919) %% 2000
            FROM (SELECT g, now() - make_interval(secs => random() * 89 * 86400) AS c
                  FROM generate_series(1, %s) AS g) AS s
            """,
            [COUNTRIES, SOURCES, low_rep, high_rep - low_rep + 1, leads],
        )
        # Each lead's routing decision, by the version current when it came in.
        cursor.execute(
            """
            INSERT INTO routing_assignment (lead_id, rep_id, rule_id, rule_name,
              config_version_id, strategy, kind, reason, trace, assigned_at)
            SELECT l.id, l.owner_id, %s + (l.id %% %s), '', (
                SELECT v.id FROM configuration_routingconfigversion v
                WHERE v.created_at <= l.created_at ORDER BY v.number DESC LIMIT 1),
              'round_robin', 'auto', 'bench', '{}', l.created_at
            FROM leads_lead l
            """,
            [low_rule, high_rule - low_rule + 1],
        )
        cursor.execute("ANALYZE")
    print(f"{RoutingConfigVersion.objects.count()} versions")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=200_000)
    args = parser.parse_args()
    bench_database(os.environ.get("BENCH_DB", "bench_audit"))
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver")  # the test client's host
    django_setup()

    from django.contrib.auth.models import Group, User
    from django.db import connection
    from django.test import Client
    from rest_framework.authtoken.models import Token

    began = time.perf_counter()
    _populate(args.leads)
    print(
        f"{args.leads:,} leads with their assignments built in {time.perf_counter() - began:.0f} s"
    )

    boss = User.objects.create(username="boss")
    boss.groups.add(Group.objects.get(name="RevOps managers"))
    client = Client(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=boss).key}")

    def hits_only() -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT a.rule_id, count(*) FROM routing_assignment a JOIN leads_lead l"
                " ON l.id = a.lead_id WHERE l.created_at >= now() - interval '90 days'"
                " AND a.kind = 'auto' GROUP BY a.rule_id"
            )
            cursor.fetchall()

    # The columns this configuration's conditions read: what the replay fetches too.
    columns = "l.country, l.company_size, l.lead_source"

    def fetch_only() -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT a.config_version_id, a.rule_id, {columns} FROM routing_assignment a"
                " JOIN leads_lead l ON l.id = a.lead_id"
                " WHERE l.created_at >= now() - interval '90 days' AND a.kind = 'auto'"
            )
            cursor.fetchall()

    today = time.strftime("%Y-%m-%d")
    start = time.strftime("%Y-%m-%d", time.localtime(time.time() - 89 * 86400))
    path = f"/api/audit/rules/?start={start}&end={today}"

    def audit_window() -> None:
        response = client.get(path, secure=True)
        assert response.status_code == 200, response.content[:300]

    hits = _timed(hits_only)
    fetch = _timed(fetch_only)
    spent = _timed(audit_window)
    body = client.get(path, secure=True).json()
    print(f"reference: hits GROUP BY rule_id (90 days)          {hits * 1000:9.1f} ms")
    print(f"reference: fetch the replay's columns (90 days)    {fetch * 1000:9.1f} ms")
    print(
        f"GET /api/audit/rules/ (90 days, {body['replay']['leads']:,} leads replayed) "
        f"{spent * 1000:9.1f} ms  {spent / fetch:4.2f}x the fetch"
    )
    print(
        f"  {args.leads / spent:,.0f} leads/s through figures, replay and history; "
        f"{len(body['rules'])} rules"
    )


if __name__ == "__main__":
    main()
