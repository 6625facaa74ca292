"""What saving a territory changes: overlaps with other territories, missing reps, and the open or
recent leads whose territory is now another (the engine's own matching, before and after)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from apps.engine import TerritoryDef
from apps.engine.territories import TerritoryIndex, build_territory_index
from apps.leads.models import OPEN_STATUSES, Lead
from apps.reps.models import Rep
from apps.territories.models import Territory

__all__ = [
    "RECENT_DAYS",
    "LeadMove",
    "TerritoryImpact",
    "territory_defs",
    "territory_impact",
]

#: leads created this recently count as "recent" beside the open ones
RECENT_DAYS = 30
EXAMPLES = 5


@dataclass(frozen=True, slots=True)
class LeadMove:
    """A lead that matched ``before`` and now matches ``after`` (territory codes, None = none)."""

    lead_id: int
    email: str
    where: str
    before: str | None
    after: str | None


@dataclass(frozen=True, slots=True)
class TerritoryImpact:
    """Sentences for the manager who saved ``code``, and the leads that now match elsewhere."""

    code: str
    overlaps: list[str] = field(default_factory=list)
    no_reps: str | None = None
    moved: int = 0
    examples: list[LeadMove] = field(default_factory=list)

    def messages(self) -> list[str]:
        """Every warning, one sentence each (the lead moves as one sentence with examples)."""
        out = [*self.overlaps]
        if self.no_reps:
            out.append(self.no_reps)
        if self.moved:
            shown = "; ".join(
                f"#{m.lead_id} {m.email} ({m.where}: {m.before or 'no territory'} → "
                f"{m.after or 'no territory'})"
                for m in self.examples
            )
            more = (
                f", and {self.moved - len(self.examples)} more"
                if self.moved > len(self.examples)
                else ""
            )
            out.append(
                f"{self.moved} open or recent lead{'s' if self.moved != 1 else ''} (last "
                f"{RECENT_DAYS} days) now match{'es' if self.moved == 1 else ''} another "
                f"territory: {shown}{more}. New leads like them will be routed by their new "
                "territory; leads already assigned keep their owner."
            )
        return out


def territory_defs() -> tuple[TerritoryDef, ...]:
    """The live territory tree as the engine sees it (one query)."""
    return tuple(
        TerritoryDef(
            code=t.code,
            name=t.name,
            parent=t.parent.code if t.parent is not None else None,
            countries=frozenset(t.countries),
            regions=frozenset(t.regions),
            postal_prefixes=tuple(str(p).upper() for p in t.postal_prefixes),
        )
        for t in Territory.objects.select_related("parent")
    )


def _index(defs: Sequence[TerritoryDef]) -> TerritoryIndex:
    return build_territory_index(defs, {})


def _overlaps(code: str, index: TerritoryIndex) -> list[str]:
    mine = index.defs[code]
    out: list[str] = []
    related = index.ancestors[code] | index.descendants[code]
    for other in sorted(index.defs.values(), key=lambda t: t.code):
        if other.code == code:
            continue
        for kind, ours, theirs, best in (
            ("country", mine.countries, other.countries, index.best_by_country),
            ("region", mine.regions, other.regions, index.best_by_region),
        ):
            shared = sorted({c.upper() for c in ours} & {c.upper() for c in theirs})
            if not shared:
                continue
            winner = best.get(shared[0])
            label = (
                f"{kind} {', '.join(shared)}"
                if len(shared) == 1
                else f"{kind}s {', '.join(shared)}"
            )
            kin = (
                " (its ancestor)"
                if other.code in index.ancestors[code]
                else (" (below it)" if other.code in related else "")
            )
            out.append(
                f"{code} shares {label} with {other.code}{kin}: a lead from "
                f"{shared[0]} now goes to {winner}, the more specific (then first by code)."
            )
    return out


def territory_impact(
    *,
    code: str,
    before: Sequence[TerritoryDef],
    after: Sequence[TerritoryDef] | None = None,
    renamed_from: str | None = None,
    now: datetime | None = None,
) -> TerritoryImpact:
    """What saving territory ``code`` changed, comparing the tree ``before`` with ``after``
    (read live when None). Three queries: the tree, the reps, the open and recent leads."""
    after = tuple(after) if after is not None else territory_defs()
    new_index = _index(after)
    if code not in new_index.defs:
        return TerritoryImpact(code=code)
    old_index = _index(before)
    now = now or timezone.now()

    below = new_index.descendants[code]
    no_reps = None
    if not Rep.objects.filter(active=True, territories__code__in=below).exists():
        where = "it or any territory below it" if len(below) > 1 else "it"
        no_reps = (
            f"{code} has no active rep in {where}: a rule targeting it finds no one, and a lead "
            "in it routed to “the lead's territory” walks up to its parent."
        )

    leads = Lead.objects.filter(
        Q(status__in=OPEN_STATUSES) | Q(created_at__gte=now - timedelta(days=RECENT_DAYS))
    ).order_by("-created_at", "-id")
    # this territory before and after, and those below it (a new parent changes their depth)
    old_code = renamed_from or code
    old_below = old_index.descendants.get(old_code, frozenset())
    versions = [old_index.defs[c] for c in old_below] + [new_index.defs[c] for c in below]
    if not any(d.postal_prefixes for d in versions):
        # only leads in these territories' countries and regions (before or after) can change
        regions = {r.upper() for d in versions for r in d.regions}
        countries = {c.upper() for d in versions for c in d.countries}
        countries |= {r.split("-", 1)[0] for r in regions}
        leads = leads.filter(Q(country__in=countries) | Q(region__in=regions))
    moved = 0
    examples: list[LeadMove] = []
    rows = leads.values_list("pk", "email", "country", "region", "postal_code")
    for pk, email, country, region, postal in rows.iterator(chunk_size=2000):
        was = old_index.match(country or None, region or None, postal or None)
        if renamed_from is not None and was == renamed_from:
            was = code
        now_in = new_index.match(country or None, region or None, postal or None)
        if was == now_in or code not in (was, now_in):
            continue
        moved += 1
        if len(examples) < EXAMPLES:
            where = ", ".join(v for v in (region or country, postal) if v) or "no location"
            examples.append(LeadMove(pk, email, where, was, now_in))
    return TerritoryImpact(
        code=code,
        overlaps=_overlaps(code, new_index),
        no_reps=no_reps,
        moved=moved,
        examples=examples,
    )
