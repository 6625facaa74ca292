"""Which rules each decided lead of a window *would* have matched, under the configuration
version that decided it: the evidence behind "shadowed by the data".

A rule is shadowed in a window when leads met its conditions but every one of them was taken
by a rule evaluated before it. Knowing that needs, per lead, every rule whose conditions hold,
not only the winner the assignment recorded; so the leads are replayed through the engine's own
condition checks (:func:`apps.engine.rule_matcher_compile`), compiled from the version that
applied, never from today's rules.

Cost: two reads of ids first (which versions decided the window), one read of those versions'
territories and rules (versions that differ only in reps or time off share one compiled
matcher), then the window's decided leads streamed once with only the fields conditions read.
"""

from __future__ import annotations

import bisect
import json
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Case, F, OuterRef, QuerySet, Subquery, When

from apps.configuration.diff import rule_identity
from apps.configuration.models import RoutingConfigVersion
from apps.engine import MatchRule, RuleMatcher, TerritoryDef, rule_matcher_compile
from apps.leads.models import Lead, LeadActivity, LeadActivityKind, LeadStatus
from apps.routing.models import Assignment, AssignmentKind
from apps.routing.selectors import LEAD_FACT_FIELDS

__all__ = ["DECIDING_KINDS", "REPLAY_FIELDS", "ShadowEvidence", "shadow_evidence_collect"]

#: Assignments that record a routing decision by the rules: first routing, and an unrouted
#: lead routed again. Duplicates, reassignments and manual moves are not the rules' choice.
DECIDING_KINDS = (AssignmentKind.AUTO, AssignmentKind.RETRY)

REPLAY_FIELDS = (*LEAD_FACT_FIELDS, "extra")
_CHUNK = 2000


@dataclass
class ShadowEvidence:
    """Per rule key: leads whose conditions it met, and who took those it did not get first."""

    matched: Counter[str] = field(default_factory=Counter)
    #: rule key -> Counter(key of the earlier rule that took the lead -> leads)
    taken_earlier: defaultdict[str, Counter[str]] = field(
        default_factory=lambda: defaultdict(Counter)
    )
    #: leads replayed, and leads that could not be (no version covers them)
    replayed: int = 0
    not_replayed: int = 0
    #: rule key -> why its conditions could not be compiled in some version
    unmatchable: dict[str, str] = field(default_factory=dict)

    def shadowers(self, key: str) -> Counter[str] | None:
        """The earlier rules that took *every* lead ``key`` matched, or None when ``key``
        matched no lead or got (or could have got) at least one."""
        matched = self.matched.get(key, 0)
        taken = self.taken_earlier.get(key)
        if not matched or taken is None or sum(taken.values()) != matched:
            return None
        return taken


@dataclass(frozen=True)
class _Compiled:
    matcher: RuleMatcher
    #: rule key -> its index in the version's evaluation order
    order: Mapping[str, int]
    #: rule name -> key, to name the winner of an assignment whose rule was since deleted
    keys_by_name: Mapping[str, str]


def _territory_defs(items: Any) -> list[TerritoryDef]:
    return [
        TerritoryDef(
            code=str(t.get("code") or ""),
            name=str(t.get("name") or ""),
            parent=t.get("parent"),
            countries=frozenset(t.get("countries") or ()),
            regions=frozenset(t.get("regions") or ()),
            postal_prefixes=tuple(str(p).upper() for p in t.get("postal_prefixes") or ()),
        )
        for t in items or ()
        if isinstance(t, Mapping)
    ]


def _compile(territories: Any, rules: Any) -> _Compiled:
    listed = [r for r in rules or () if isinstance(r, Mapping)]
    match_rules = [
        MatchRule(
            key=rule_identity(r),
            active=bool(r.get("active", True)),
            conditions=r.get("conditions") or [],
        )
        for r in listed
    ]
    matcher = rule_matcher_compile(territories=_territory_defs(territories), rules=match_rules)
    return _Compiled(
        matcher=matcher,
        order={rule.key: n for n, rule in enumerate(match_rules)},
        keys_by_name={str(r.get("name")): rule_identity(r) for r in listed},
    )


class _Versions:
    """The versions a window needs, compiled once each (shared when their rules and territories
    are the same), and which version applied at a moment (for records that name none)."""

    def __init__(self, version_ids: set[int], moments: list[tuple[datetime, int]]) -> None:
        self._moments = moments
        self._at = [moment for moment, _ in moments]
        self.by_id: dict[int, _Compiled] = {}
        self._shared: dict[str, _Compiled] = {}
        self._load(version_ids)

    def _load(self, version_ids: set[int]) -> None:
        rows = RoutingConfigVersion.objects.filter(pk__in=version_ids).values_list(
            "pk", "document__territories", "document__rules"
        )
        for pk, territories, rules in rows.iterator(chunk_size=50):
            fingerprint = json.dumps([territories, rules], sort_keys=True, default=str)
            compiled = self._shared.get(fingerprint)
            if compiled is None:
                compiled = self._shared[fingerprint] = _compile(territories, rules)
            self.by_id[pk] = compiled

    def get(self, pk: int | None) -> _Compiled | None:
        """The compiled version ``pk`` (loaded now if the window's prefetch missed it)."""
        if pk is None:
            return None
        if pk not in self.by_id:
            self._load({pk})
        return self.by_id.get(pk)

    def id_at(self, moment: datetime) -> int | None:
        """The version current at ``moment``: the newest created at or before it."""
        n = bisect.bisect_right(self._at, moment)
        return self._moments[n - 1][1] if n else None


def _columns(reads: set[str]) -> tuple[str, ...]:
    """The lead columns holding what the rules read ("extra.x" lives in ``extra``)."""
    wanted = {"extra" if name.startswith("extra.") else name for name in reads}
    return tuple(name for name in REPLAY_FIELDS if name in wanted)


def _facts(columns: tuple[str, ...], row: Sequence[Any]) -> dict[str, object]:
    return {k: v for k, v in zip(columns, row, strict=True) if v not in ("", None)}


def _covered(reads: Sequence[str], columns: tuple[str, ...]) -> bool:
    """Whether the fetched columns hold everything a matcher reads."""
    return all(
        name in columns or (name.startswith("extra.") and "extra" in columns) for name in reads
    )


def _decided(low: datetime, high: datetime) -> QuerySet[Assignment]:
    return Assignment.objects.filter(
        kind__in=DECIDING_KINDS, lead__created_at__gte=low, lead__created_at__lt=high
    ).order_by()


def _unrouted(low: datetime, high: datetime) -> QuerySet[Lead]:
    return Lead.objects.filter(
        status=LeadStatus.UNROUTED, created_at__gte=low, created_at__lt=high
    ).order_by()


def _rows(low: datetime, high: datetime, columns: tuple[str, ...]) -> Iterator[tuple[Any, ...]]:
    """(version id or None, moment, winner rule id or None, winner name, *lead columns)."""
    # The moment matters only for records naming no version: the others skip its conversion.
    moment = Case(When(config_version__isnull=True, then=F("assigned_at")))
    decided = _decided(low, high).values_list(
        "config_version_id",
        moment,
        "rule_id",
        "rule_name",
        *(f"lead__{name}" for name in columns),
    )
    yield from decided.iterator(chunk_size=_CHUNK)
    # An unrouted lead was decided by the version current when routing last left it unrouted;
    # it has no winner. One with no such record was never evaluated: nothing to replay.
    last_try = (
        LeadActivity.objects.filter(lead=OuterRef("pk"), kind=LeadActivityKind.UNROUTED)
        .order_by("-at", "-id")
        .values("at")[:1]
    )
    unrouted = (
        _unrouted(low, high)
        .annotate(tried_at=Subquery(last_try))
        .filter(tried_at__isnull=False)
        .values_list("tried_at", *columns)
    )
    for moment, *fields in unrouted.iterator(chunk_size=_CHUNK):
        yield (None, moment, None, "", *fields)


def shadow_evidence_collect(
    *, low: datetime, high: datetime, keys_by_rule_id: Mapping[int, str]
) -> ShadowEvidence:
    """Replay the leads created in [low, high) that the rules decided (assigned by a rule, or
    left unrouted) against the version that decided each. ``keys_by_rule_id`` names the live
    rules (rule id -> key) so an assignment's winner is found in the version's document."""
    moments = list(
        RoutingConfigVersion.objects.order_by("created_at", "number").values_list(
            "created_at", "pk"
        )
    )
    needed = {
        pk
        for pk in _decided(low, high).values_list("config_version_id", flat=True).distinct()
        if pk is not None
    }
    at = [moment for moment, _ in moments]
    # Records naming no version (older assignments, unrouted leads) use the one current then.
    first = bisect.bisect_right(at, low)
    needed.update(pk for _, pk in moments[max(first - 1, 0) : bisect.bisect_left(at, high)])
    versions = _Versions(needed, moments)
    # Only the columns the window's rules read: most quarters need a handful of the lead's.
    reads = {name for compiled in versions.by_id.values() for name in compiled.matcher.reads}
    columns = _columns(reads)

    evidence = ShadowEvidence()
    # Leads alike (same version, same winner, same rules matched) are counted together first:
    # a quarter has far fewer such combinations than leads.
    tally: Counter[tuple[int, str | None, tuple[str, ...]]] = Counter()
    by_identity: dict[int, _Compiled] = {}
    for version_id, moment, rule_id, rule_name, *row in _rows(low, high, columns):
        compiled = versions.get(version_id or versions.id_at(moment))
        # A version outside the prefetch (rare: see above) must read no column we did not fetch.
        if compiled is None or not _covered(compiled.matcher.reads, columns):
            evidence.not_replayed += 1
            continue
        winner = keys_by_rule_id.get(rule_id) if rule_id is not None else None
        if winner is None and rule_name:
            winner = compiled.keys_by_name.get(rule_name)
        by_identity[id(compiled)] = compiled
        tally[(id(compiled), winner, compiled.matcher.matching(_facts(columns, row)))] += 1
    for (identity, winner, matched), leads in tally.items():
        compiled = by_identity[identity]
        evidence.replayed += leads
        won_at = compiled.order.get(winner) if winner is not None else None
        for key in matched:
            evidence.matched[key] += leads
            if won_at is not None and key != winner and compiled.order[key] > won_at:
                evidence.taken_earlier[key][winner] += leads  # type: ignore[index]
            elif key != winner:
                # It matched and was evaluated first (no one eligible), or the lead went
                # unrouted: this rule had its chance, whatever the others did.
                evidence.taken_earlier.setdefault(key, Counter())
    for compiled in versions.by_id.values():
        for key, why in compiled.matcher.unmatchable.items():
            evidence.unmatchable.setdefault(key, why)
    return evidence
