"""The routing engine: pure Python, no Django. Facts in, a decision with its trace out.

Compile a :class:`ConfigSnapshot` once per configuration version with :func:`compile_config`,
then call :func:`decide` per lead with the reps' loads, the rules' rotation states and "now".

Decisions the contract leaves open:

* A ``{"territory": CODE}`` target's pool is the reps of CODE *and of its descendants*; a
  ``$lead`` target starts at the lead's territory (with its descendants) and walks up one parent
  at a time until someone is eligible; a lead without a territory finds no one.
* Missing lead values: positive ops are false, ``ne``/``not_in`` are true (see conditions.py).
* ``assign_anyway`` ignores away, time off, working hours and both caps; it still honours
  ``active``, ``exclude_rep_ids``, skill and language, and keeps the rule's strategy.
* ``account_owner`` with no account for the lead's domain (or a parent domain) does not apply:
  evaluation continues with the next rule whatever ``when_no_one_eligible`` says.
* Rotation state (:class:`RotationState.data`) maps a pool key to ``{"last": rep_id}`` (round
  robin) or ``{"cw": {"<rep_id>": int}}`` (smooth weighted round robin counters); load_balanced
  and account_owner need none (``Decision.new_rotation`` is None).
* Traces list at most :data:`TRACE_CAP` candidates per rule (the chosen rep always), the rest
  counted under ``"omitted"``; round robin lists the reps walked from the cursor to the winner,
  load_balanced every rep ranked ahead of the winner. Rule entries add ``rule_id`` and, when
  matched, ``pool`` (and ``forced``); the trace adds ``reason``. Each candidate carries a
  machine ``code`` (:class:`Why`) beside its sentence, so the edge can render generic words
  for people who may not see a colleague's details.
* :func:`explain_all` ("evaluate all rules") returns decide's decision untouched plus, for every
  rule after the deciding one, whether it would have matched and whom it would have taken.
"""

from .compiler import CompiledConfig, ConfigError, compile_config, lead_territory
from .decide import decide
from .eligibility import Why
from .explain import Explanation, explain_all
from .grammar import (
    KIND_OPS,
    OP_VALUES,
    TARGETLESS_STRATEGIES,
    WEIGHTED_STRATEGIES,
    condition_grammar,
    field_kind,
)
from .matching import (
    ROTATING_STRATEGIES,
    MatchRule,
    RuleMatcher,
    reps_reachable,
    rule_matcher_compile,
    rules_matching,
)
from .serialize import snapshot_from_json, snapshot_to_json
from .strategies import PERFORMANCE_FLOOR, TRACE_CAP
from .types import (
    CONDITION_OPS,
    LEAD_FIELDS,
    STRATEGIES,
    WHEN_NO_ONE_ELIGIBLE,
    ConfigSnapshot,
    Decision,
    LeadFacts,
    RepLoad,
    RepProfile,
    RotationState,
    RuleDef,
    TerritoryDef,
    TimeOffPeriod,
    WorkingWindow,
)

__all__ = [
    "CONDITION_OPS",
    "KIND_OPS",
    "LEAD_FIELDS",
    "OP_VALUES",
    "PERFORMANCE_FLOOR",
    "ROTATING_STRATEGIES",
    "STRATEGIES",
    "TARGETLESS_STRATEGIES",
    "TRACE_CAP",
    "WEIGHTED_STRATEGIES",
    "WHEN_NO_ONE_ELIGIBLE",
    "CompiledConfig",
    "ConfigError",
    "ConfigSnapshot",
    "Decision",
    "Explanation",
    "LeadFacts",
    "MatchRule",
    "RepLoad",
    "RepProfile",
    "RotationState",
    "RuleDef",
    "RuleMatcher",
    "TerritoryDef",
    "TimeOffPeriod",
    "Why",
    "WorkingWindow",
    "compile_config",
    "condition_grammar",
    "decide",
    "explain_all",
    "field_kind",
    "lead_territory",
    "reps_reachable",
    "rule_matcher_compile",
    "rules_matching",
    "snapshot_from_json",
    "snapshot_to_json",
]
