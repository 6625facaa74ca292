"""Which rules' conditions a lead meets, without deciding anything: what audits replay.

The same compiled conditions, territory matching and value normalisation as :func:`decide`,
so "rule R would have matched this lead" means exactly what routing means by it. Rules whose
conditions do not compile (an old version naming a territory since removed) are reported in
``unmatchable`` and never match, instead of failing the whole replay.

A quarter holds many leads alike in every field the rules read (country, size band, source),
so each matcher remembers its answer per combination of those raw values: a replay of 100,000
leads evaluates the conditions once per distinct combination, not once per lead.

`rules_matching` answers the same question on a compiled configuration for routing itself: the
rules that could decide a lead, whose rotation rows routing locks (see its docstring), and
`reps_reachable` the same question for reps: every rep those rules' pools could hand the lead to
(an SLA sweep page locks exactly those, with the leads' current owners, before it moves anyone).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from .compiler import CompiledConfig, conditions_first_failure
from .conditions import Condition, compile_conditions
from .decide import _pools, _resolve_territory
from .territories import TerritoryIndex, build_territory_index
from .types import LeadFacts, TerritoryDef
from .values import normalise_lead

__all__ = [
    "ROTATING_STRATEGIES",
    "MatchRule",
    "RuleMatcher",
    "reps_reachable",
    "rule_matcher_compile",
    "rules_matching",
]

_EMPTY: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True, kw_only=True)
class MatchRule:
    """A rule as matching needs it: who it is, whether it runs, its raw conditions."""

    key: str
    active: bool
    conditions: Sequence[object]


#: Distinct lead combinations a matcher remembers before starting afresh (bounded memory).
MEMO_LIMIT = 200_000
#: Raw fields a derived field is computed from.
_DERIVED = {
    "territory": ("country", "region", "postal_code"),
    "email_domain": ("email", "email_domain"),
}


@dataclass(frozen=True, slots=True, eq=False)
class RuleMatcher:
    """Compiled once per configuration version; :meth:`matching` per lead."""

    territories: TerritoryIndex
    #: (key, first failing condition or None) of the active, compilable rules, in rule order
    rules: tuple[tuple[str, Callable[[Mapping[str, object]], Condition | None]], ...]
    #: keys of rules whose conditions did not compile, with the first problem
    unmatchable: Mapping[str, str]
    #: the raw lead fields the active rules' conditions depend on ("extra.x": that extra key)
    reads: tuple[str, ...] = ()
    #: the raw values of ``reads`` -> the answer (see the module docstring)
    memo: dict[tuple[object, ...], tuple[str, ...]] = field(default_factory=dict)

    def _key(self, fields: Mapping[str, object]) -> tuple[object, ...] | None:
        extra = fields.get("extra")
        values: list[object] = []
        for name in self.reads:
            if name.startswith("extra."):
                value = extra.get(name[6:]) if isinstance(extra, Mapping) else None
            else:
                value = fields.get(name)
            if value is not None and not isinstance(value, str | int | float | Decimal | datetime):
                return None  # a list or object in extra: evaluate, don't remember
            values.append(value)
        return tuple(values)

    def territory_of(self, fields: Mapping[str, object]) -> str | None:
        def text(name: str) -> str | None:
            value = fields.get(name)
            return value if isinstance(value, str) and value else None

        return self.territories.match(text("country"), text("region"), text("postal_code"))

    def matching(self, fields: Mapping[str, object]) -> tuple[str, ...]:
        """The keys of the active rules whose every condition holds for the lead, in order."""
        key = self._key(fields)
        if key is not None:
            known = self.memo.get(key)
            if known is not None:
                return known
        territory = self.territory_of(fields)
        ancestors = self.territories.ancestors.get(territory, _EMPTY) if territory else _EMPTY
        vals = normalise_lead(fields, territory, ancestors)
        answer = tuple(name for name, first_failure in self.rules if first_failure(vals) is None)
        if key is not None:
            if len(self.memo) >= MEMO_LIMIT:
                self.memo.clear()
            self.memo[key] = answer
        return answer


def _reads(conditions: list[tuple[Condition, ...]]) -> tuple[str, ...]:
    names: set[str] = set()
    for compiled in conditions:
        for condition in compiled:
            for name in condition.fields:
                names.update(_DERIVED.get(name, (name,)))
    return tuple(sorted(names))


def rule_matcher_compile(
    *, territories: Sequence[TerritoryDef], rules: Sequence[MatchRule]
) -> RuleMatcher:
    """Compile the territory tree and each rule's conditions (rules in evaluation order)."""
    tree_errors: dict[str, list[str]] = {}
    index = build_territory_index(tuple(territories), tree_errors)
    codes = frozenset(index.defs)
    compiled: list[tuple[str, Callable[[Mapping[str, object]], Condition | None]]] = []
    active: list[tuple[Condition, ...]] = []
    unmatchable: dict[str, str] = {}
    for rule in rules:
        errors: dict[str, list[str]] = {}
        conditions = compile_conditions(
            rule.conditions, "conditions", territory_codes=codes, errors=errors
        )
        if errors:
            path, messages = next(iter(errors.items()))
            unmatchable[rule.key] = f"{path}: {messages[0]}"
            continue
        if rule.active:
            compiled.append((rule.key, conditions_first_failure(conditions)))
            active.append(conditions)
    return RuleMatcher(
        territories=index, rules=tuple(compiled), unmatchable=unmatchable, reads=_reads(active)
    )


#: Strategies whose picks read and advance a rotation cursor (RotationState); the others
#: (load balanced, account owner) decide from the reps' loads alone.
ROTATING_STRATEGIES: frozenset[str] = frozenset(
    {"round_robin", "weighted_round_robin", "performance_weighted"}
)


def rules_matching(
    compiled: CompiledConfig, lead: LeadFacts, *, rotating_only: bool = False
) -> list[int]:
    """The ids of the active rules whose conditions `lead` meets, in rule order (with
    `rotating_only`, those of them that keep a rotation cursor)."""
    fields = lead.fields
    territory = _resolve_territory(compiled, fields)
    ancestors = (
        compiled.territories.ancestors.get(territory, frozenset()) if territory else frozenset()
    )
    vals = normalise_lead(fields, territory, ancestors)
    return [
        rule.rule_id
        for rule in compiled.rules
        if rule.active
        and (not rotating_only or rule.strategy in ROTATING_STRATEGIES)
        and rule.first_failure(vals) is None
    ]


def reps_reachable(compiled: CompiledConfig, lead: LeadFacts) -> frozenset[int]:
    """The ids of every rep an active rule whose conditions `lead` meets could pick, whoever is
    eligible at the time: the rule's fixed pool, the whole walk up a ``$lead`` target's
    territory chain, or the account's owner. `decide` (with or without ``only_rule_id`` and
    ``exclude_rep_ids``) never picks a rep outside this set."""
    fields = lead.fields
    territory = _resolve_territory(compiled, fields)
    ancestors = (
        compiled.territories.ancestors.get(territory, frozenset()) if territory else frozenset()
    )
    vals = normalise_lead(fields, territory, ancestors)
    reps: set[int] = set()
    for rule in compiled.rules:
        if rule.active and rule.first_failure(vals) is None:
            pools, _domain = _pools(compiled, rule, territory, vals)
            for pool in pools:
                reps.update(pool.ids)
    return frozenset(reps)
