"""Route leads still `new` (past the grace period) and retry `unrouted` ones, once, now."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from apps.routing.tasks import route_pending


class Command(BaseCommand):
    help = "Route leads left `new` (e.g. the broker was down) and retry `unrouted` ones."

    def handle(self, *args: Any, **options: Any) -> None:
        counts = route_pending()
        if not counts:
            self.stdout.write("Nothing pending.")
            return
        self.stdout.write(", ".join(f"{outcome}: {n}" for outcome, n in sorted(counts.items())))
