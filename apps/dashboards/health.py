"""The routing-health strip every dashboard shows: how often routing needed a human or a second
try, over the leads that arrived in the window, each beside the same figure for the previous
window of the same length (docs/API.md, "Routing health").

- reroute rate: moves (assignments of kind ``reassign_inactivity``, ``reassign_unavailable`` or
  ``manual``) of the window's leads, per lead; best-in-class programmes stay under 3%;
- manual overrides within 24 h: ``manual`` moves made within 24 hours after one of the lead's
  automatic (``auto``) assignments, per lead: a proxy for misroutes;
- unrouted rate and duplicate rate: the window's leads whose status is ``unrouted`` or
  ``duplicate``, per lead;
- leads waiting ``new``: now, and the oldest one's age (a queue has no recorded past, so no
  previous value).

Two queries whatever the number of leads: one over the leads (both windows and the queue, in
parts that each take their own index), one over the moves. The territory and lead-source filters apply to every figure; a rep filter keeps
the leads that rep owns, so the unrouted, duplicate and waiting figures (leads nobody owns) are
not given (``None``) under it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, TypedDict

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import Count, F, FilteredRelation, Q, QuerySet
from django.utils import timezone

from apps.dashboards.filtersets import DateWindow
from apps.leads.models import Lead, LeadStatus
from apps.routing.models import Assignment, AssignmentKind

__all__ = ["MOVE_KINDS", "OVERRIDE_HOURS", "REROUTE_TARGET", "HealthMetric", "routing_health"]

MOVE_KINDS = (
    AssignmentKind.REASSIGN_INACTIVITY,
    AssignmentKind.REASSIGN_UNAVAILABLE,
    AssignmentKind.MANUAL,
)
OVERRIDE_HOURS = 24
#: Best-in-class routing programmes move fewer than 3 leads in 100.
REROUTE_TARGET = 0.03


class HealthMetric(TypedDict):
    key: str
    label: str
    count: int | None
    value: float | None
    previous_count: int | None
    previous: float | None
    delta: float | None
    trend: str | None  # "up", "down", "flat"; None without both values
    assessment: str | None  # "better", "worse", "unchanged" (lower is better for each)
    target: float | None


def _rate(count: int | None, leads: int) -> float | None:
    return None if count is None or not leads else round(count / leads, 4)


def _metric(
    key: str,
    label: str,
    counts: tuple[int | None, int | None],
    leads: tuple[int, int],
    *,
    target: float | None = None,
) -> HealthMetric:
    value, previous = _rate(counts[0], leads[0]), _rate(counts[1], leads[1])
    delta = None if value is None or previous is None else round(value - previous, 4)
    trend = None if delta is None else "up" if delta > 0 else "down" if delta < 0 else "flat"
    assessment = {"up": "worse", "down": "better", "flat": "unchanged"}.get(trend or "")
    return {
        "key": key,
        "label": label,
        "count": counts[0],
        "value": value,
        "previous_count": counts[1],
        "previous": previous,
        "delta": delta,
        "trend": trend,
        "assessment": assessment,
        "target": target,
    }


def _within(low: datetime, high: datetime, field: str = "created_at") -> Q:
    return Q(**{f"{field}__gte": low, f"{field}__lt": high})


def _totals(
    leads: QuerySet[Lead],
    *,
    window: tuple[datetime, datetime],
    before: tuple[datetime, datetime],
) -> dict[str, Any]:
    """The lead counts of the strip: one statement of three parts, each over only the leads it
    needs, so that each takes its own index: both windows' leads counted in one index-only pass
    (over lead_id_created_idx or lead_created_grouping_idx, whichever reads less; the latter
    also holds the territory, source and owner the filters test), the few unrouted and
    duplicate leads of both windows and the waiting ones by their status
    (lead_status_created_idx). One pass with a filter per figure read the whole table instead:
    no index holding the status is narrow enough for PostgreSQL to prefer it over the table
    for a range this wide."""
    connection = connections[leads.db]
    quote = connection.ops.quote_name
    rows = leads.order_by()
    rare = (LeadStatus.UNROUTED, LeadStatus.DUPLICATE)
    created = Lead._meta.get_field("created_at")  # the bounds as the ORM would pass them

    def bounds(low: datetime, high: datetime) -> list[Any]:
        return [created.get_db_prep_value(b, connection) for b in (low, high)]

    between = f"{quote('created_at')} >= %s AND {quote('created_at')} < %s"
    by_status = f"{quote('status')} = %s AND {between}"
    # (aggregates, their parameters, the rows they aggregate)
    parts: list[tuple[str, list[Any], QuerySet[Lead]]] = [
        (
            f"COUNT(*) FILTER (WHERE {between}), COUNT(*) FILTER (WHERE {between})",
            [*bounds(*window), *bounds(*before)],
            rows.filter(_within(before[0], window[1])).values("created_at"),
        ),
        (
            ", ".join([f"COUNT(*) FILTER (WHERE {by_status})"] * 4),
            [
                value
                for status in rare
                for period in (window, before)
                for value in (str(status), *bounds(*period))
            ],
            rows.filter(_within(before[0], window[1]), status__in=rare).values(
                "created_at", "status"
            ),
        ),
        (
            f"COUNT(*), MIN({quote('created_at')})",
            [],
            rows.filter(status=LeadStatus.NEW).values("created_at"),
        ),
    ]
    selects, params = [], []
    for n, (aggregates, aggregate_params, queryset) in enumerate(parts):
        try:
            sql, part_params = queryset.query.sql_with_params()
        except EmptyResultSet:  # a filter nothing can match: no leads anywhere
            return dict.fromkeys(TOTALS, 0) | {"oldest_waiting": None}
        selects.append(f"(SELECT {aggregates} FROM ({sql}) {quote(f'part{n}')}) {quote(f't{n}')}")
        params.extend([*aggregate_params, *part_params])
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {', '.join(selects)}", params)
        row = cursor.fetchone()
    *counts, oldest = row
    if isinstance(oldest, str):  # SQLite returns the text it stores
        oldest = connection.ops.convert_datetimefield_value(oldest, None, connection)
    return dict(zip(TOTALS, map(int, counts), strict=True)) | {"oldest_waiting": oldest}


#: The counts _totals gives, in the order its statement selects them.
TOTALS = (
    "leads",
    "leads_before",
    "unrouted",
    "unrouted_before",
    "duplicate",
    "duplicate_before",
    "waiting",
)


def routing_health(
    *, leads: QuerySet[Lead], window: DateWindow, per_rep: bool = False, now: datetime | None = None
) -> dict[str, Any]:
    """The strip over ``leads`` (filtered by everything but the dates) for ``window`` and the
    previous window of as many days; ``per_rep``: the leads are one rep's (see the module)."""
    now = now or timezone.now()
    previous = DateWindow(
        start=window.start - timedelta(days=len(window.days)),
        end=window.start - timedelta(days=1),
    )
    low, high = window.bounds()
    prev_low, prev_high = previous.bounds()
    totals = _totals(leads, window=(low, high), before=(prev_low, prev_high))
    # A manual move is an override when one of the lead's automatic assignments began within
    # the 24 hours before it. A join rather than a correlated EXISTS: PostgreSQL costs a
    # subplan per move, and at a million leads that estimate alone switched on seconds of JIT
    # compilation. A move joined to two such assignments is still counted once (distinct).
    automatic_shortly_before = FilteredRelation(
        "lead__assignments",
        condition=Q(
            lead__assignments__kind=AssignmentKind.AUTO,
            lead__assignments__assigned_at__lte=F("assigned_at"),
            lead__assignments__assigned_at__gt=F("assigned_at") - timedelta(hours=OVERRIDE_HOURS),
        ),
    )
    override = Q(kind=AssignmentKind.MANUAL, automatic__kind__isnull=False)
    arrived, arrived_before = (
        _within(low, high, "lead__created_at"),
        _within(prev_low, prev_high, "lead__created_at"),
    )
    moved = Assignment.objects.order_by().filter(
        _within(prev_low, high, "lead__created_at"), kind__in=MOVE_KINDS
    )
    if leads.query.has_filters():  # territory, source or rep: only those leads' moves
        moved = moved.filter(lead__in=leads.values("pk"))
    moves = moved.annotate(automatic=automatic_shortly_before).aggregate(
        moves=Count("pk", filter=arrived, distinct=True),
        moves_before=Count("pk", filter=arrived_before, distinct=True),
        overrides=Count("pk", filter=arrived & override, distinct=True),
        overrides_before=Count("pk", filter=arrived_before & override, distinct=True),
    )

    counts = (totals["leads"], totals["leads_before"])

    def pair(key: str, source: dict[str, Any], owned: bool = True) -> tuple[int | None, int | None]:
        # Leads nobody owns are not one rep's: under a rep filter these figures are not given.
        if per_rep and not owned:
            return (None, None)
        return (source[key], source[f"{key}_before"])

    oldest = totals["oldest_waiting"]
    return {
        "window": {"start": window.start.isoformat(), "end": window.end.isoformat()},
        "previous_window": {"start": previous.start.isoformat(), "end": previous.end.isoformat()},
        "days": len(window.days),
        "leads": {"value": counts[0], "previous": counts[1]},
        "metrics": [
            _metric(
                "reroute_rate",
                "Reroute rate",
                pair("moves", moves),
                counts,
                target=REROUTE_TARGET,
            ),
            _metric(
                "manual_override_rate",
                f"Manual overrides within {OVERRIDE_HOURS} h",
                pair("overrides", moves),
                counts,
            ),
            _metric("unrouted_rate", "Unrouted", pair("unrouted", totals, False), counts),
            _metric("duplicate_rate", "Duplicates", pair("duplicate", totals, False), counts),
        ],
        "waiting_new": {
            "count": None if per_rep else totals["waiting"],
            "oldest_seconds": None
            if per_rep or oldest is None
            else round((now - oldest).total_seconds(), 1),
        },
    }
