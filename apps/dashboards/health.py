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

One query whatever the number of leads (both windows, their moves and the queue, in parts that
each read their own index; see _figures). The territory and lead-source filters apply to every
figure; a rep filter keeps the leads that rep owns, so the unrouted, duplicate and waiting
figures (leads nobody owns) are not given (``None``) under it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, TypedDict

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from apps.dashboards.filtersets import DateWindow
from apps.dashboards.tally import tally_leads_read
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


#: The figures _figures gives, in the order its statement selects them.
FIGURES = (
    "leads",
    "leads_before",
    "moves",
    "moves_before",
    "overrides",
    "overrides_before",
    "unrouted",
    "unrouted_before",
    "duplicate",
    "duplicate_before",
    "waiting",
)


def _figures(
    leads: QuerySet[Lead],
    *,
    window: tuple[datetime, datetime],
    before: tuple[datetime, datetime],
    days: tuple[date, date, date] | None = None,
) -> dict[str, Any]:
    """Every count of the strip in one statement of five parts (the second and third under one
    parallel plan), each over only the rows it needs, so that each takes its own index and
    none reads a table:

    1. the leads of both windows (lead_id_created_idx, or lead_created_groups_idx when a
       filter narrows them); over every lead, on PostgreSQL, from the counts maintained as
       leads are written (apps/dashboards/tally.py; ``days``: the first day of the previous
       window, the first of this one and the last), a statement of its own that reads a few
       thousand counts instead of every lead of both windows;
    2. their moves (assignment_moves_idx), each lead's arrival looked up by its id
       (lead_id_created_idx);
    3. the manual overrides: the manual moves after which one of the lead's automatic
       assignments began within the 24 hours before (assignment_lead_rep_cover_idx);
    4. the few unrouted and duplicate leads of both windows, by status (lead_status_created_idx);
    5. the leads waiting ``new`` and the oldest of them.

    The previous window ends where this one begins, so each part reads the rows of both at
    once and tells them apart by one comparison (arrived at or after the start of this
    window), not one range per figure. The override test is an EXISTS among the conditions,
    which PostgreSQL turns into a semi-join: each move counted once however many assignments
    qualify, in parallel, costed as a join (in a FILTER clause it stays a subplan, costed per
    move as if read from disk; at a million leads that estimate alone switched on JIT
    compilation). Measured on PostgreSQL 15 (bench/dashboards.py): one pass over the leads with
    a filter per figure read the whole table (no index holding the status is narrow enough for
    the planner to prefer it for a range this wide), and joining the moves to that pass cost
    more than looking up each moved lead."""
    if before[1] != window[0]:
        raise ValueError("the previous window must end where this one begins")
    connection = connections[leads.db]
    quote = connection.ops.quote_name
    created = Lead._meta.get_field("created_at")
    # The start of this window, as the ORM would pass it to this database.
    start = created.get_db_prep_value(window[0], connection)

    def compiled(queryset: QuerySet[Any]) -> tuple[str, list[Any]]:
        sql, params = queryset.query.sql_with_params()
        return sql, list(params)

    rows = leads.order_by()
    arrived = rows.filter(_within(before[0], window[1]))
    assignments = Assignment.objects.order_by().filter(
        _within(before[0], window[1], "lead__created_at")
    )
    if leads.query.has_filters():  # territory, source or rep: only those leads' moves
        assignments = assignments.filter(lead__in=leads.values("pk"))
    moved = assignments.filter(kind__in=MOVE_KINDS)
    automatic_shortly_before = Assignment.objects.filter(
        lead=OuterRef("lead"),
        kind=AssignmentKind.AUTO,
        assigned_at__lte=OuterRef("assigned_at"),
        assigned_at__gt=OuterRef("assigned_at") - timedelta(hours=OVERRIDE_HOURS),
    )
    # (kind = manual alone, not also among the move kinds: PostgreSQL multiplies the two
    # conditions' selectivities and underestimates the manual moves twentyfold)
    overrides = assignments.filter(Exists(automatic_shortly_before), kind=AssignmentKind.MANUAL)
    rare = (LeadStatus.UNROUTED, LeadStatus.DUPLICATE)
    try:
        parts = [
            compiled(arrived.values("created_at")),
            compiled(moved.values(created_at=F("lead__created_at"))),
            compiled(overrides.values(created_at=F("lead__created_at"))),
            compiled(arrived.filter(status__in=rare).values("created_at", "status")),
            compiled(rows.filter(status=LeadStatus.NEW).values("created_at")),
        ]
    except EmptyResultSet:  # a filter nothing can match: no leads anywhere
        return dict.fromkeys(FIGURES, 0) | {"oldest_waiting": None}

    tallied = None
    if days is not None and connection.vendor == "postgresql" and not leads.query.has_filters():
        with connection.cursor() as cursor:
            first, split, last = days
            tallied = tally_leads_read(
                cursor, first=first, last=last, split=split, low=before[0], high=window[1]
            )

    arrival, status, kind = quote("created_at"), quote("status"), quote("kind")
    # The moves and the overrides side by side, under one parallel plan.
    (moves_sql, moves_params), (overrides_sql, overrides_params) = parts[1:3]
    parts[1:3] = [
        (
            f"SELECT 0 AS {kind}, {arrival} FROM ({moves_sql}) {quote('m')} UNION ALL "
            f"SELECT 1 AS {kind}, {arrival} FROM ({overrides_sql}) {quote('o')}",
            moves_params + overrides_params,
        )
    ]
    # this window, then both: the previous window's figure is the difference
    split = f"COUNT(*) FILTER (WHERE {arrival} >= %s), COUNT(*)"
    by_kind = f"COUNT(*) FILTER (WHERE {kind} = %s AND {arrival} >= %s)"
    by_status = f"COUNT(*) FILTER (WHERE {status} = %s AND {arrival} >= %s)"
    aggregates = [
        (split, [start]),
        (
            f"{by_kind}, COUNT(*) FILTER (WHERE {kind} = %s), "
            f"{by_kind}, COUNT(*) FILTER (WHERE {kind} = %s)",
            [0, start, 0, 1, start, 1],
        ),
        (
            f"{by_status}, COUNT(*) FILTER (WHERE {status} = %s), "
            f"{by_status}, COUNT(*) FILTER (WHERE {status} = %s)",
            [rare[0], start, rare[0], rare[1], start, rare[1]],
        ),
        (f"COUNT(*), MIN({arrival})", []),
    ]
    if tallied is not None:  # the leads counted already
        parts, aggregates = parts[1:], aggregates[1:]
    selects, params = [], []
    for n, ((sql, part_params), (select, select_params)) in enumerate(
        zip(parts, aggregates, strict=True)
    ):
        selects.append(f"(SELECT {select} FROM ({sql}) {quote(f'p{n}')}) {quote(f't{n}')}")
        params += [str(p) if isinstance(p, LeadStatus) else p for p in select_params]
        params += part_params
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {', '.join(selects)}", params)
        *counts, oldest = cursor.fetchone()
    if tallied is not None:
        counts = [*tallied, *counts]
    figures: dict[str, Any] = {}
    for n, key in enumerate(("leads", "moves", "overrides", "unrouted", "duplicate")):
        current, both = int(counts[2 * n]), int(counts[2 * n + 1])
        figures[key], figures[f"{key}_before"] = current, both - current
    figures["waiting"] = int(counts[10])
    if isinstance(oldest, str):  # SQLite returns the text it stores
        oldest = connection.ops.convert_datetimefield_value(oldest, None, connection)
    return figures | {"oldest_waiting": oldest}


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
    totals = moves = _figures(
        leads,
        window=(low, high),
        before=(prev_low, prev_high),
        days=(previous.start, window.start, window.end),
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
