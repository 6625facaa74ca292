"""`manage.py seed_demo`: a realistic demo organisation with 90 days of routed lead history.

The phases live in `apps.demo`: `organisation` (territories, reps, accounts, rules, logins),
`leads` (the lead rows) and `history` (routing and the leads' lives through the real services).
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from apps.accounts.models import Account
from apps.configuration.apply import config_version_record
from apps.configuration.models import RoutingConfigVersion
from apps.demo.history import history_play
from apps.demo.leads import lead_rows, leads_create, repeated_emails
from apps.demo.logins import DEMO_LOGINS
from apps.demo.organisation import organisation_seed
from apps.leads.models import Lead, LeadStatus
from apps.reps.models import Rep
from apps.routing.models import Assignment
from apps.routing.outbox import notifications_suppressed
from apps.routing.selectors import config_cache_clear
from apps.rules.models import RoutingRule
from apps.territories.models import Territory

User = get_user_model()

T = TypeVar("T")


class Command(BaseCommand):
    help = (
        "Create a demo organisation (territories, reps, accounts, rules, logins) and "
        "90 days of leads routed by the real routing engine."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--leads", type=int, default=3000, help="How many leads (default 3000)."
        )
        parser.add_argument("--seed", type=int, default=42, help="Random seed (default 42).")
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing when the database already holds reps or leads (for `make run`).",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Seed even though the database holds data: missing demo objects are created "
            "and new leads are added.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["leads"] < 0:
            raise CommandError("--leads must be 0 or more.")
        populated = Rep.objects.exists() or Lead.objects.exists()
        if populated and options["if_empty"]:
            self.stdout.write("seed_demo: the database already holds reps or leads; nothing to do.")
            return
        if populated and not options["force"]:
            raise CommandError(
                "The database already holds reps or leads. Use --if-empty to skip quietly, "
                "or --force to add the demo data anyway."
            )
        started = time.monotonic()
        seed = options["seed"]
        # One generator for the leads and their history, in that order: the same seed gives
        # the same demo.
        rng = random.Random(seed)
        now = timezone.now().replace(microsecond=0)
        # One transaction for the whole seed: a failure in any phase leaves nothing behind.
        # History is back-filled: the reps get no mail and no webhook fires for it (the
        # on-commit hooks run at the end of the block, still inside the suppression).
        with notifications_suppressed(), transaction.atomic():
            organisation = self._phase("organisation", lambda: organisation_seed(now=now))
            # Version 1 of the configuration: every demo assignment points at it.
            config_version_record(
                actor=User.objects.filter(username="admin").first(),
                source=RoutingConfigVersion.Source.SEED,
                summary="Demo organisation created by seed_demo",
            )
            leads = self._phase(
                "leads", lambda: self._leads(options["leads"], seed=seed, rng=rng, now=now)
            )
            self._phase(
                "routing and history",
                lambda: history_play(
                    leads=leads,
                    organisation=organisation,
                    rng=rng,
                    now=now,
                    progress=self.stdout.write,
                ),
            )
        config_cache_clear()
        if connection.vendor == "postgresql":
            # Fresh statistics: the planner would otherwise plan the new tables as empty (a
            # backtest's lead query took 1.7 s instead of 64 ms until autovacuum came round).
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        self._summary(time.monotonic() - started)

    def _phase(self, name: str, func: Callable[[], T]) -> T:
        began = time.monotonic()
        self.stdout.write(f"seed_demo: {name}...")
        result = func()
        self.stdout.write(f"seed_demo: {name} done in {time.monotonic() - began:.1f}s")
        return result

    def _leads(self, count: int, *, seed: int, rng: random.Random, now: datetime) -> list[Lead]:
        rows = lead_rows(count, seed=seed, rng=rng, now=now)
        created = leads_create(rows)
        self.stdout.write(
            f"seed_demo: {len(created)} leads ({repeated_emails(rows)} repeat an earlier email)"
        )
        return created

    def _summary(self, seconds: float) -> None:
        statuses = Counter(
            dict(
                Lead.objects.values_list("status")
                .annotate(n=Count("id"))
                .values_list("status", "n")
            )
        )
        kinds = dict(
            Assignment.objects.values_list("kind").annotate(n=Count("id")).values_list("kind", "n")
        )
        out = self.stdout
        out.write(self.style.SUCCESS(f"seed_demo: done in {seconds:.1f}s"))
        out.write(
            f"  territories {Territory.objects.count()}, reps {Rep.objects.count()} "
            f"(time zones {Rep.objects.values('time_zone').distinct().count()}), "
            f"accounts {Account.objects.count()}, rules {RoutingRule.objects.count()}"
        )
        out.write(
            f"  leads {sum(statuses.values())}: "
            + ", ".join(f"{status} {statuses.get(status, 0)}" for status in LeadStatus.values)
        )
        out.write(
            f"  assignments {sum(kinds.values())}: "
            + ", ".join(f"{kind} {n}" for kind, n in sorted(kinds.items()))
        )
        logins = ", ".join(f"{username} ({role})" for role, username, _ in DEMO_LOGINS)
        out.write(f"  logins: {logins}; password '{DEMO_LOGINS[0][2]}'")
