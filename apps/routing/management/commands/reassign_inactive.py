"""`manage.py reassign_inactive [--as-of DATETIME]`: one SLA sweep as of that moment."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.routing.sla import sla_sweep


def _as_of(value: Any) -> datetime:
    if isinstance(value, datetime):
        moment = value
    else:
        moment = parse_datetime(str(value).strip())
        if moment is None:
            raise CommandError(f"--as-of: {value!r} is not an ISO 8601 date and time.")
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=UTC)  # naive input is taken as UTC
    return moment


class Command(BaseCommand):
    help = (
        "Run one SLA sweep: remind owners, reassign leads not contacted in time or held by "
        "unavailable reps, escalate after ROUTING_MAX_REASSIGNMENTS. Prints the counts."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--as-of",
            dest="as_of",
            default=None,
            help="Sweep as of this ISO 8601 moment (naive = UTC); default now.",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=None,
            help="Leads per transaction; default ROUTING_SWEEP_PAGE_SIZE.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        now = _as_of(options["as_of"]) if options.get("as_of") is not None else timezone.now()
        counts = sla_sweep(now=now, batch_size=options["batch_size"])
        self.stdout.write(f"SLA sweep as of {now.isoformat()}")
        for key, value in counts.items():
            self.stdout.write(f"  {key}: {value}")
