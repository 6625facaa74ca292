"""Deadline timers: leads move within seconds of their SLA deadline, not at the next minute.

The minute sweep (beat) is the safety net. After each one, `sla_deadlines_ahead` lists when
sweepable leads fall due before the next tick, rounded up to `ROUTING_SLA_PRECISION_SECONDS`;
the routing tasks then enqueue one `sla_deadline` task per such moment with that ETA, which runs
only the ladder's move step (`sla_sweep_overdue`) as of its moment. Every SLA window is whole
minutes long, so a deadline always lies at least a minute after its assignment: the tick before
it already sees the lead and arms its timer. A timer that fires twice, late or after the lead was
touched moves nothing it should not: the move step is the sweep's own, under the same row locks
and conditions. The cost is bounded by the precision (at most 60 / precision timers a minute),
not by the number of leads.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models.functions import TruncSecond

from apps.leads.models import Lead, LeadStatus
from apps.routing.sla_clock import due_by

__all__ = ["TICK", "sla_deadlines_ahead"]

#: The beat schedule's period for the sweep: timers cover the deadlines until the next tick.
TICK = timedelta(minutes=1)


def _round_up(moment: datetime, seconds: int) -> datetime:
    epoch = moment.timestamp()
    return datetime.fromtimestamp(math.ceil(epoch / seconds) * seconds, tz=moment.tzinfo)


def sla_deadlines_ahead(*, now: datetime, horizon: timedelta = TICK) -> list[datetime]:
    """The moments to sweep at so every lead falling due in (now, now + horizon] is moved within
    ROUTING_SLA_PRECISION_SECONDS of its deadline: its deadline rounded up to that precision.
    One query on the sweep's partial index (at most one row per second of the horizon)."""
    precision = max(1, int(settings.ROUTING_SLA_PRECISION_SECONDS))
    seconds = (
        Lead.objects.filter(
            status=LeadStatus.ASSIGNED,
            escalated_at__isnull=True,
            sla_due_at__gt=due_by(now),
            sla_due_at__lte=now + horizon,
        )
        .annotate(second=TruncSecond("sla_due_at"))
        .order_by("second")
        .values_list("second", flat=True)
        .distinct()
    )
    moments: list[datetime] = []
    for second in seconds:
        moment = _round_up(second, precision)
        if not moments or moment > moments[-1]:
            moments.append(moment)
    return moments
