"""Which rules' conditions a lead meets, without deciding anything: what audits replay.

The same compiled conditions, territory matching and value normalisation as :func:`decide`,
so "rule R would have matched this lead" means exactly what routing means by it. Rules whose
conditions do not compile (an old version naming a territory since removed) are reported in
``unmatchable`` and never match, instead of failing the whole replay.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from .conditions import Condition, compile_conditions
from .territories import TerritoryIndex, build_territory_index
from .types import TerritoryDef
from .values import normalise_lead

__all__ = ["MatchRule", "RuleMatcher", "rule_matcher_compile"]

_EMPTY: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True, kw_only=True)
class MatchRule:
    """A rule as matching needs it: who it is, whether it runs, its raw conditions."""

    key: str
    active: bool
    conditions: Sequence[object]


@dataclass(frozen=True, slots=True, eq=False)
class RuleMatcher:
    """Compiled once per configuration version; :meth:`matching` per lead."""

    territories: TerritoryIndex
    #: (key, first failing condition or None) of the active, compilable rules, in rule order
    rules: tuple[tuple[str, Callable[[Mapping[str, object]], Condition | None]], ...]
    #: keys of rules whose conditions did not compile, with the first problem
    unmatchable: Mapping[str, str]

    def territory_of(self, fields: Mapping[str, object]) -> str | None:
        def text(name: str) -> str | None:
            value = fields.get(name)
            return value if isinstance(value, str) and value else None

        return self.territories.match(text("country"), text("region"), text("postal_code"))

    def matching(self, fields: Mapping[str, object]) -> tuple[str, ...]:
        """The keys of the active rules whose every condition holds for the lead, in order."""
        territory = self.territory_of(fields)
        ancestors = self.territories.ancestors.get(territory, _EMPTY) if territory else _EMPTY
        vals = normalise_lead(fields, territory, ancestors)
        return tuple(key for key, first_failure in self.rules if first_failure(vals) is None)


def _first_failure(
    conditions: tuple[Condition, ...],
) -> Callable[[Mapping[str, object]], Condition | None]:
    def first(vals: Mapping[str, object]) -> Condition | None:
        for condition in conditions:
            if not condition.check(vals):
                return condition
        return None

    return first


def rule_matcher_compile(
    *, territories: Sequence[TerritoryDef], rules: Sequence[MatchRule]
) -> RuleMatcher:
    """Compile the territory tree and each rule's conditions (rules in evaluation order)."""
    tree_errors: dict[str, list[str]] = {}
    index = build_territory_index(tuple(territories), tree_errors)
    codes = frozenset(index.defs)
    compiled: list[tuple[str, Callable[[Mapping[str, object]], Condition | None]]] = []
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
            compiled.append((rule.key, _first_failure(conditions)))
    return RuleMatcher(territories=index, rules=tuple(compiled), unmatchable=unmatchable)
