"""Distribution balance: did each rep receive the automatic leads they should have, given their
weight, their availability and their daily cap over the window? (docs/API.md "Dashboards and
audits" has the shape and every definition.)

Counted: automatic assignments (``Assignment.kind == "auto"``: first routing by a rule, not
duplicates, retries, sweeps or manual moves) made in the window (by ``assigned_at``, whole days
in the viewer's zone), of leads in the chosen territory and lead source. The database groups
them per rep; each rep's availability comes from their recorded history (active, away, weight,
daily cap) and time off, a fixed number of queries whatever the number of leads or reps, and
the arithmetic is the engine's pure :mod:`apps.engine.fairness`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import TruncDate
from django.utils import timezone

from apps.dashboards.filtersets import DateWindow
from apps.engine.fairness import (
    Availability,
    RepState,
    allocate,
    chi_square_test,
    gini,
    pearson_residual,
    rep_availability,
)
from apps.leads.models import Lead
from apps.reps.models import Rep, TimeOff
from apps.routing.models import Assignment, AssignmentKind
from apps.rules.models import RoutingRule, Strategy
from apps.territories.models import Territory

__all__ = ["FLAG_RESIDUAL", "MIN_COUNT", "balance_report"]

#: A rep is flagged when their count lies more than this many standard deviations (Pearson
#: residual) from what was expected...
FLAG_RESIDUAL = 2.0
#: ...and either count is at least this large (below it chance alone swings too far).
MIN_COUNT = 5.0

STARVED, FLOODED = "starved", "flooded"

NOTE_HOURS = (
    "Working hours are not counted: a rep counts as available all day on a day they are "
    "active, not away and not on time off."
)
NOTE_POOL = (
    "Every rep active in the window is taken to share one rotation (with a territory filter: "
    "the reps of the territory and of the territories under it, and whoever received its "
    "leads); separate rules' pools are not "
    "modelled, so compare reps of one pool by filtering on its territory."
)
NOTE_HISTORY = (
    "Availability comes from each rep's recorded history; before their first record a rep "
    "is taken to have been as first recorded (as they are now when nothing was recorded "
    "before the window ended)."
)
NOTE_CAPACITY = (
    "A daily cap limits a rep's expected leads to the cap times their available days, the "
    "rest going to the others; days are counted in the dashboard's zone, not the rep's. "
    "Open-lead caps cannot be reconstructed for the past and are not counted."
)
NOTE_WEIGHTED = (
    "Weights: each rep's own weight over time (weighted round robin is in use); a weight "
    "given inside one rule's list of reps is not reflected."
)
NOTE_UNWEIGHTED = "Weights: no active rule uses weighted round robin, so every rep counts 1."


def _assignments(*, low: datetime, high: datetime, filters: Mapping[str, Any]) -> Any:
    rows = Assignment.objects.filter(
        kind=AssignmentKind.AUTO, assigned_at__gte=low, assigned_at__lt=high
    )
    territory: Territory | None = filters.get("territory")
    if territory is not None:
        rows = rows.filter(lead__territory=territory)
    if filters.get("lead_source"):
        rows = rows.filter(lead__lead_source__iexact=filters["lead_source"])
    return rows.order_by()


def _states(*, low: datetime, high: datetime) -> dict[int, list[RepState]]:
    """Each rep's recorded states that matter for the window: those recorded in it and the
    last one before it (one query). A creation inside the window means the rep did not exist
    before it, which counts as inactive."""
    history = Rep.history.model
    last_before = (
        history.objects.filter(id=OuterRef("id"), history_date__lt=low)
        .order_by("-history_date", "-history_id")
        .values("history_id")[:1]
    )
    rows = (
        history.objects.filter(history_date__lt=high)
        .filter(Q(history_date__gte=low) | Q(history_id=Subquery(last_before)))
        .order_by("history_date", "history_id")
        .values_list(
            "id", "history_date", "history_type", "active", "away", "weight", "max_daily_leads"
        )
    )
    states: dict[int, list[RepState]] = defaultdict(list)
    for rep_id, at, kind, active, away, weight, cap in rows:
        if not states[rep_id] and kind == "+" and at > low:
            states[rep_id].append(RepState(at=low, active=False, away=False, weight=0))
        states[rep_id].append(
            RepState(at=at, active=active, away=away, weight=weight, max_daily_leads=cap)
        )
    return states


def _subtree(territory: Territory) -> list[int]:
    """The territory and its descendants: a territory's pool holds the reps of both (one
    query for the whole tree)."""
    children: dict[int | None, list[int]] = defaultdict(list)
    for pk, parent in Territory.objects.values_list("pk", "parent_id"):
        children[parent].append(pk)
    found, todo = [], [territory.pk]
    while todo:
        pk = todo.pop()
        found.append(pk)
        todo.extend(children[pk])
    return found


def _capped_days(*, low: datetime, high: datetime, caps: Mapping[int, int]) -> dict[int, int]:
    """Per rep of ``caps`` (rep id: daily cap), the days on which their assignments (of every
    kind, as the cap counts them) reached it, in the current zone. One query, grouped by the
    database along the (rep, assigned_at) index (the index alone answers it); none when no rep
    has a cap."""
    if not caps:
        return {}
    days = (
        Assignment.objects.filter(assigned_at__gte=low, assigned_at__lt=high, rep_id__in=caps)
        .annotate(day=TruncDate("assigned_at", tzinfo=timezone.get_current_timezone()))
        .values("rep_id", "day")
        .annotate(n=Count("*"))
        .filter(n__gte=min(caps.values()))
        .order_by()
    )
    counted: dict[int, int] = defaultdict(int)
    for row in days:
        if row["n"] >= caps[row["rep_id"]]:
            counted[row["rep_id"]] += 1
    return counted


def _days(seconds: float, av: Availability, n_days: int) -> float:
    """Seconds as days of the window (a window over a DST change keeps its whole days)."""
    return round(seconds / av.window * n_days, 1) if av.window else 0.0


def _number(value: float) -> str:
    """12.0 -> "12", 7.5 -> "7.5" (one decimal at most)."""
    rounded = round(value, 1)
    return str(int(rounded)) if rounded == int(rounded) else str(rounded)


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _significant(value: float | None) -> float | None:
    """Four significant digits: a p-value of 3.1e-09 stays readable and non-zero."""
    return None if value is None else float(f"{value:.4g}")


def _weight(av: Availability, rep: Rep) -> float:
    """The rep's weight, averaged over their available time (their weight now if none)."""
    return round(av.weighted / av.available, 2) if av.available else float(rep.weight)


def _context(row: dict[str, Any], n_days: int, weighted: bool) -> list[str]:
    """What shaped a rep's expectation, in words ("away 9 of 30 days")."""
    words = []
    for key, text in (
        ("inactive_days", "inactive"),
        ("time_off_days", "on time off"),
        ("away_days", "away"),
    ):
        if row[key]:
            words.append(f"{text} {_number(row[key])} of {n_days} days")
    if row["capped_days"]:
        words.append(
            f"at capacity: reached the daily cap ({row['daily_cap']}) "
            f"on {row['capped_days']} of {n_days} days"
        )
    if weighted and row["weight"] != 1:
        words.append(f"weight {_number(row['weight'])}")
    return words


def balance_report(
    *,
    leads: QuerySet[Lead],
    window: DateWindow,
    rep: Rep | None = None,
    filters: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Leads per rep against their expected share, and how uneven the split is.

    ``leads`` (the lead filter's queryset) is not used: the balance counts assignments by
    their own time. ``rep`` narrows ``per_rep`` to that rep; shares, expectations and the
    team's figures stay those of the whole rotation, since a share needs the others.
    Six queries at most: leads per rep, reps, history, time off, rules, and the capped days
    when a rep has a daily cap (one more for the territory tree when filtered on a territory;
    membership is inside the reps query)."""
    del leads
    filters = filters or {}
    low, high = window.bounds()
    n_days = len(window.days)
    territory: Territory | None = filters.get("territory")

    received: dict[int, int] = {
        row["rep_id"]: row["n"]
        for row in _assignments(low=low, high=high, filters=filters)
        .values("rep_id")
        .annotate(n=Count("*"))  # "*": the (kind, assigned_at, rep) index alone answers it
    }
    reps_qs = Rep.objects.select_related("user").order_by("user__username")
    if territory is not None:
        reps_qs = reps_qs.annotate(
            in_pool=Exists(
                Rep.territories.through.objects.filter(
                    rep_id=OuterRef("pk"), territory_id__in=_subtree(territory)
                )
            )
        )
    reps = list(reps_qs)
    states = _states(low=low, high=high)
    time_off: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    for rep_id, starts, ends in TimeOff.objects.filter(
        starts_at__lt=high, ends_at__gt=low
    ).values_list("rep_id", "starts_at", "ends_at"):
        time_off[rep_id].append((starts, ends))
    weighted = RoutingRule.objects.filter(
        active=True, strategy=Strategy.WEIGHTED_ROUND_ROBIN
    ).exists()
    capped = _capped_days(
        low=low,
        high=high,
        caps={r.pk: r.max_daily_leads for r in reps if r.max_daily_leads is not None},
    )

    rows: list[dict[str, Any]] = []
    weights: list[float] = []
    caps: list[float | None] = []
    for r in reps:
        rep_states = states.get(r.pk) or [
            RepState(
                at=low,
                active=r.active,
                away=r.away,
                weight=r.weight,
                max_daily_leads=r.max_daily_leads,
            )
        ]
        av = rep_availability(
            start=low, end=high, states=rep_states, time_off=time_off.get(r.pk, [])
        )
        got = received.get(r.pk, 0)
        in_pool = territory is None or bool(getattr(r, "in_pool", False)) or got > 0
        weight = (av.weighted if weighted else av.available) if in_pool else 0.0
        # Listed: everyone in the rotation, whoever received leads, and active reps with none.
        if weight <= 0 and got == 0 and not (r.active and in_pool) and r != rep:
            continue
        rows.append(
            {
                "rep": r.user.username,
                "rep_id": r.pk,
                "leads": got,
                "weight": _weight(av, r) if weighted else 1.0,
                "daily_cap": r.max_daily_leads,
                "available_days": _days(av.available, av, n_days),
                "away_days": _days(av.away, av, n_days),
                "time_off_days": _days(av.time_off, av, n_days),
                "inactive_days": _days(av.inactive, av, n_days),
                "capped_days": capped.get(r.pk, 0),
                "_in_pool": in_pool,
            }
        )
        weights.append(weight)
        caps.append(av.cap_leads)

    total = sum(received.values())
    # The expectation shares the leads that went to reps expected to receive some.
    expected_total = sum(row["leads"] for row, w in zip(rows, weights, strict=True) if w > 0)
    expected = allocate(expected_total, weights, caps)
    mass = sum(weights)
    for row, weight, exp in zip(rows, weights, expected, strict=True):
        _judge(
            row,
            weight=weight,
            expected=exp,
            expected_share=(exp / expected_total if expected_total else weight / mass)
            if mass
            else 0.0,
            total=total,
            n_days=n_days,
            weighted=weighted,
            territory=territory,
        )

    team = [
        (row["leads"], exp) for row, w, exp in zip(rows, weights, expected, strict=True) if w > 0
    ]
    counts = [got for got, _ in team]
    test = chi_square_test(counts, [exp for _, exp in team]) if total else None
    most, least = (max(counts), min(counts)) if counts and total else (None, None)
    notes = [NOTE_HOURS, NOTE_POOL, NOTE_HISTORY, NOTE_CAPACITY]
    notes.append(NOTE_WEIGHTED if weighted else NOTE_UNWEIGHTED)
    stray = total - expected_total
    if stray:
        notes.append(
            f"{stray} lead{'s' if stray != 1 else ''} went to reps expected to receive none; "
            "they are left out of the expected split and the chi-square test."
        )
    for row in rows:
        del row["_in_pool"]
    return {
        "window": {
            "start": window.start.isoformat(),
            "end": window.end.isoformat(),
            "days": n_days,
        },
        "leads": total,
        "weighted": weighted,
        "per_rep": [row for row in rows if rep is None or row["rep_id"] == rep.pk],
        "gini": _round(gini(counts) if total else None, 4),
        "max_leads": most,
        "min_leads": least,
        "max_min_ratio": _round(most / least, 2) if most is not None and least else None,
        "chi_square": _round(test.statistic, 4) if test else None,
        "chi_square_df": test.df if test else None,
        "chi_square_p": _significant(test.p_value) if test else None,
        "chi_square_reading": _reading(test.p_value if test else None),
        "starved": [row["rep"] for row in rows if row["flag"] == STARVED],
        "flooded": [row["rep"] for row in rows if row["flag"] == FLOODED],
        "notes": notes,
    }


def _reading(p: float | None) -> str:
    """The chi-square p-value in plain words."""
    if p is None:
        return "Too few leads or reps to test the split."
    if p < 0.01:
        return "Very unlikely to be chance: the split departs from the expected one."
    if p < 0.05:
        return "Unlikely to be chance (p < 0.05): the split leans away from the expected one."
    return "Consistent with the expected split: the differences look like chance."


def _judge(
    row: dict[str, Any],
    *,
    weight: float,
    expected: float,
    expected_share: float,
    total: int,
    n_days: int,
    weighted: bool,
    territory: Territory | None,
) -> None:
    """Fill a rep's shares, residual, flag and the reasons for it."""
    got = row["leads"]
    residual = pearson_residual(got, expected)
    row["share"] = round(got / total, 4) if total else None
    row["expected_share"] = round(expected_share, 4)
    row["expected_leads"] = round(expected, 2)
    row["residual"] = _round(residual, 2)
    flag = None
    if weight <= 0:
        if got:
            flag = FLOODED
    elif residual is not None and abs(residual) > FLAG_RESIDUAL and max(got, expected) >= MIN_COUNT:
        flag = STARVED if residual < 0 else FLOODED
    row["flag"] = flag
    reasons: list[str] = []
    if flag is not None:
        if weight <= 0:
            why = "not available in the window"
            if not row["_in_pool"] and territory is not None:
                why = f"not a rep of {territory.code}"
            elif weighted and row["available_days"]:
                why = "weight 0"
            reasons.append(f"received {got} while none were expected ({why})")
        else:
            reasons.append(f"received {got} of an expected {_number(expected)}")
        reasons += _context(row, n_days, weighted)
    row["reasons"] = reasons
    row["reason"] = "; ".join(reasons)  # the same, one cell of the CSV
