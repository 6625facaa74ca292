"""Conversion by rep, territory and lead source, with a 95% Wilson score interval on every rate so
a manager can tell a real gap from noise (docs/API.md, "Dashboards and audits").

The leads of a rep are the leads created in the window whose *current* owner is that rep (the
owner at the end, after any reassignment): the rep who holds a lead is the one who converts it
or not. The denominator is every lead owned, whatever its status (open, converted, disqualified,
duplicate), so a lead still open counts as not converted yet. Leads with no owner (unrouted, not
yet routed) have no one to convert them: they are left out of every rate and counted apart as
``unowned``; the team's rate, the reference of the "below team"/"above team" flags, is the
overall rate over the owned leads.

Counting is the database's: the leads are counted per combination of owner, territory and
lowered lead source in one query (grouping.count_combinations: on PostgreSQL one parallel
index-only scan of lead_created_groups_idx counting every lead and the converted ones), and
those few combinations rolled up per key here; then the reps and the territories' names: three
queries whatever the number of leads. The intervals are computed here from the counts.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any, Literal, TypedDict

from django.db.models import Q, QuerySet
from django.db.models.functions import Lower

from apps.dashboards.filtersets import DateWindow
from apps.dashboards.grouping import count_combinations
from apps.leads.models import Lead, LeadStatus
from apps.reps.models import Rep
from apps.territories.models import Territory

__all__ = [
    "RATE_COLUMNS",
    "Z_95",
    "ConversionFigures",
    "RateFigures",
    "conversion_report",
    "vs_team",
    "wilson_interval",
]

#: The two-sided 95% normal quantile, 1.959963984540054.
Z_95 = NormalDist().inv_cdf(0.975)

VsTeam = Literal["below", "above", "within"]
#: The columns of every row's figures, in the order of the CSV tables.
RATE_COLUMNS = ["leads", "converted", "rate", "ci_low", "ci_high", "vs_team"]


class RateFigures(TypedDict):
    leads: int
    converted: int
    rate: float | None
    ci_low: float | None
    ci_high: float | None


class ConversionFigures(RateFigures):
    vs_team: VsTeam | None


def wilson_interval(converted: int, leads: int, *, z: float = Z_95) -> tuple[float, float] | None:
    """The Wilson score interval of ``converted`` successes in ``leads`` trials (None for no
    trials). Unlike the normal approximation it stays within [0, 1] and is not zero-width at
    0/n or n/n, which is what small teams and new reps produce."""
    if leads <= 0:
        return None
    if not 0 <= converted <= leads:
        raise ValueError("converted must lie between 0 and leads")
    p = converted / leads
    z2 = z * z
    denominator = 1 + z2 / leads
    centre = (p + z2 / (2 * leads)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / leads + z2 / (4 * leads * leads))
    # max/min only absorb rounding: at 0/n the lower bound is 0 exactly, at n/n the upper 1.
    return max(0.0, centre - half), min(1.0, centre + half)


def vs_team(interval: tuple[float, float] | None, team_rate: float | None) -> VsTeam | None:
    """Where an interval lies against the team's rate: entirely below, entirely above, or
    around it (the gap may be noise); None when either is unknown."""
    if interval is None or team_rate is None:
        return None
    low, high = interval
    if high < team_rate:
        return "below"
    if low > team_rate:
        return "above"
    return "within"


def _rate(converted: int, leads: int) -> RateFigures:
    interval = wilson_interval(converted, leads)
    return {
        "leads": leads,
        "converted": converted,
        "rate": round(converted / leads, 4) if leads else None,
        "ci_low": round(interval[0], 4) if interval else None,
        "ci_high": round(interval[1], 4) if interval else None,
    }


def _figures(converted: int, leads: int, team_rate: float | None) -> ConversionFigures:
    """A group's rate and interval, placed against the team's (unrounded) rate."""
    return {
        **_rate(converted, leads),
        "vs_team": vs_team(wilson_interval(converted, leads), team_rate),
    }


CONVERTED = Q(status=LeadStatus.CONVERTED)
OWNED = Q(owner__isnull=False)


def conversion_report(
    *, leads: QuerySet[Lead], window: DateWindow, rep: Rep | None = None
) -> dict[str, Any]:
    """Conversion over ``leads`` (already filtered to the window and the other filters): overall,
    per rep (every active rep, or ``rep`` alone, those with no leads too, and any inactive rep
    owning leads here), per territory and per lead source (the groups holding owned leads).
    Three queries: the counts (one statement), the reps, the territories' names."""
    combinations = count_combinations(
        leads,
        keys={"owner": "owner_id", "territory": "territory_id", "source": Lower("lead_source")},
        counts={"leads": Q(), "won": OWNED & CONVERTED},
    )
    # Rolled up per key over the owned combinations (few: reps x territories x sources).
    owned = [c for c in combinations if c["owner"] is not None]
    unowned = sum(c["leads"] for c in combinations if c["owner"] is None)
    total = sum(c["leads"] for c in owned)
    converted = sum(c["won"] for c in owned)
    team_rate = converted / total if total else None
    groups: dict[str, dict[Any, dict[str, Any]]] = {"owner": {}, "territory": {}, "source": {}}
    for combination in owned:
        for key, by_value in groups.items():
            row = by_value.setdefault(combination[key], {key: combination[key], "n": 0, "won": 0})
            row["n"] += combination["leads"]
            row["won"] += combination["won"]

    by_owner = {owner: (row["won"], row["n"]) for owner, row in groups["owner"].items()}
    reps = Rep.objects.select_related("user").order_by("user__username")
    reps = (
        reps.filter(pk=rep.pk)
        if rep is not None
        else reps.filter(Q(active=True) | Q(pk__in=list(by_owner)))
    )
    per_rep = [
        {
            "rep": r.user.username,
            "rep_id": r.pk,
            **_figures(*by_owner.get(r.pk, (0, 0)), team_rate),
        }
        for r in reps
    ]

    territory_rows = list(groups["territory"].values())
    names = {
        t["id"]: (t["code"], t["name"])
        for t in Territory.objects.filter(
            pk__in=[row["territory"] for row in territory_rows if row["territory"] is not None]
        ).values("id", "code", "name")
    }
    by_territory = [
        {
            "territory": names.get(row["territory"], (None, None))[0],
            "territory_name": names.get(row["territory"], (None, None))[1],
            **_figures(row["won"], row["n"], team_rate),
        }
        for row in territory_rows
    ]
    # By code, leads without a territory last.
    by_territory.sort(key=lambda r: (r["territory"] is None, r["territory"] or ""))
    by_source = [
        {"lead_source": row["source"], **_figures(row["won"], row["n"], team_rate)}
        for row in sorted(groups["source"].values(), key=lambda r: (r["source"] == "", r["source"]))
    ]
    return {
        "window": {"start": window.start.isoformat(), "end": window.end.isoformat()},
        "overall": {
            **_rate(converted, total),
            "unowned": unowned,
            "reps_below_team": sum(r["vs_team"] == "below" for r in per_rep),
            "reps_above_team": sum(r["vs_team"] == "above" for r in per_rep),
        },
        "per_rep": per_rep,
        "by_territory": by_territory,
        "by_source": by_source,
    }
