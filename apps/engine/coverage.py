"""Static rule analysis: which rules can never take a lead because an earlier rule takes them all.

Rule B is *shadowed* by an earlier active rule A when

1. every lead that satisfies B's conditions satisfies A's (:func:`conditions_imply`), and
2. A *always decides* such a lead: it assigns it or holds it, and never passes it on.

Whether A always decides follows from decide.py, conservatively (only what is certain):

* ``when_no_one_eligible = "hold"``: A assigns or holds every lead it matches, with one
  exception: an ``account_owner`` rule with no account for the lead passes it on whatever it says.
* ``"assign_anyway"``: the relaxed pass still needs an active rep who meets the rule's skill and
  language requirements and, for weighted round robin, has a weight above 0. A decides only when
  it has no skill or language requirement and its pool certainly holds such a rep: a fixed pool
  (a territory or listed reps), or for a ``$lead`` target, when B's conditions pin the lead's
  territory (``territory within X``, ``eq``, ``in``) and the walk up from every territory they
  allow meets such a rep. The relaxed pass honours a reassignment's "never hand the lead back to
  a rep who held it", so B could still take a lead being reassigned after every one of A's reps
  has held it: such shadows carry ``reassignments_only=True``.
* ``"next_rule"``: A passes a lead on whenever no one is eligible: never certain.

Everything here is pure: a validated :class:`CompiledConfig` and the raw rule definitions in,
a mapping of shadowed rule ids to :class:`Shadow` out. The admin's rule warnings and the
quarterly audit both read it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .compiler import CompiledConfig, CompiledRule, Pool, compile_config
from .eligibility import CompiledRep
from .implication import conditions_imply, flatten_conditions
from .types import ConfigSnapshot, RuleDef

__all__ = ["Shadow", "rule_always_decides", "rule_shadows"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Shadow:
    """Rule ``rule_id`` can never take a lead: ``by_rule_id`` (earlier) takes every one first."""

    rule_id: int
    rule_name: str
    by_rule_id: int
    by_rule_name: str
    #: the shadowing rule holds leads no one can take (``hold``) rather than assigning anyway
    by_hold: bool
    #: B could still take a lead being reassigned once every rep of A has held it
    reassignments_only: bool

    @property
    def text(self) -> str:
        """One sentence for a manager."""
        how = (
            "holds every lead it matches when no one is eligible"
            if self.by_hold
            else "assigns every lead it matches, anyway if no one is available"
        )
        text = (
            f"Never fires: every lead it matches is taken first by the earlier rule "
            f"'{self.by_rule_name}', whose conditions cover this rule's and which {how}."
        )
        if self.reassignments_only:
            text += (
                f" It could only take a lead being reassigned after every rep of "
                f"'{self.by_rule_name}' has held it."
            )
        return text


def _pickable(rep: CompiledRep, rule: CompiledRule, weight: int) -> bool:
    """The relaxed (assign anyway) pass can pick this rep for any lead of this rule."""
    return rep.active and (rule.strategy != "weighted_round_robin" or weight > 0)


def _pool_certain(pool: Pool | None, rule: CompiledRule) -> bool:
    return pool is not None and any(
        _pickable(rep, rule, w) for rep, w in zip(pool.reps, pool.weights, strict=True)
    )


def _lead_territories(
    compiled: CompiledConfig, conditions: Iterable[object]
) -> frozenset[str] | None:
    """The territory codes a lead satisfying ``conditions`` can have; None when unconstrained
    (which includes "no territory at all")."""
    by_lower = {code.lower(): code for code in compiled.territories.defs}
    allowed: frozenset[str] | None = None
    for cond in flatten_conditions(list(conditions)):
        if cond.get("field") != "territory":
            continue
        op, value = cond.get("op"), cond.get("value")
        codes: frozenset[str] | None = None
        if op == "within" and isinstance(value, str) and value in compiled.territories.defs:
            codes = compiled.territories.descendants[value]
        elif op == "eq" and isinstance(value, str):
            code = by_lower.get(value.strip().lower())
            codes = frozenset({code}) if code else frozenset()
        elif op == "in" and isinstance(value, list | tuple):
            codes = frozenset(
                by_lower[v.strip().lower()]
                for v in value
                if isinstance(v, str) and v.strip().lower() in by_lower
            )
        if codes is not None:
            allowed = codes if allowed is None else allowed & codes
    return allowed


def rule_always_decides(
    compiled: CompiledConfig, rule: CompiledRule, *, for_conditions: Iterable[object] = ()
) -> tuple[bool, bool]:
    """Whether ``rule`` assigns or holds every lead it matches that also satisfies
    ``for_conditions`` (a later rule's conditions): ``(certain, reassignments_only)``."""
    if not rule.active or rule.target_kind == "account":
        return False, False
    if rule.when_no_one_eligible == "hold":
        return True, False
    if rule.when_no_one_eligible != "assign_anyway":
        return False, False
    if rule.require_skill_from or rule.require_language:
        return False, False
    if rule.target_kind in ("territory", "reps"):
        return _pool_certain(rule.pool, rule), True
    if rule.target_kind != "lead":
        return False, False
    territories = _lead_territories(compiled, for_conditions)
    if not territories:  # None: the lead may have no territory; empty: no lead at all
        return False, False
    pools = compiled.territory_pools
    for code in territories:
        if not any(_pool_certain(pools[up], rule) for up in compiled.territories.chain[code]):
            return False, False
    return True, True


def rule_shadows(
    snapshot: ConfigSnapshot, compiled: CompiledConfig | None = None
) -> dict[int, Shadow]:
    """Every active rule that can never take a lead, by rule id, with the first earlier rule
    that takes its leads. ``compiled`` is ``compile_config(snapshot)`` (compiled here if None;
    raises :class:`ConfigError` on an invalid snapshot)."""
    if compiled is None:
        compiled = compile_config(snapshot)
    defs: Mapping[int, RuleDef] = {r.rule_id: r for r in snapshot.rules}
    index = compiled.territories
    shadows: dict[int, Shadow] = {}
    earlier: list[CompiledRule] = []
    for rule in compiled.rules:
        if rule.active:
            b_conditions = list(defs[rule.rule_id].conditions)
            for a in earlier:
                if not conditions_imply(b_conditions, list(defs[a.rule_id].conditions), index):
                    continue
                certain, reassignments_only = rule_always_decides(
                    compiled, a, for_conditions=b_conditions
                )
                if certain:
                    shadows[rule.rule_id] = Shadow(
                        rule_id=rule.rule_id,
                        rule_name=rule.name,
                        by_rule_id=a.rule_id,
                        by_rule_name=a.name,
                        by_hold=a.when_no_one_eligible == "hold",
                        reassignments_only=reassignments_only,
                    )
                    break
        if rule.active:
            earlier.append(rule)
    return shadows
