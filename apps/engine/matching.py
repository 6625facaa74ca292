"""Which rules could decide a lead: the active rules whose conditions it meets, whoever is
eligible at the time. Routing locks the rotation rows of exactly these rules (those whose
strategy keeps a cursor) before it picks, so two transactions contend only when their leads can
share a rotation, and a lead that falls through to a later rule never needs a lock it does not
already hold: every rule `decide` may settle on is in this set. `reps_reachable` is the same
question for reps: every rep those rules' pools could hand the lead to (an SLA sweep page locks
exactly those, with the leads' current owners, before it moves anyone)."""

from __future__ import annotations

from .compiler import CompiledConfig
from .decide import _pools, _resolve_territory
from .types import LeadFacts
from .values import normalise_lead

__all__ = ["ROTATING_STRATEGIES", "reps_reachable", "rules_matching"]

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
