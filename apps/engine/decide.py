"""The routing decision: lead facts, compiled rules, rep loads, rotation states and now in;
a decision with its trace out. Pure and deterministic."""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .compiler import CompiledConfig, CompiledRule, Pool
from .eligibility import EligibilityContext, Why
from .strategies import (
    CandidateTrace,
    Pick,
    pick_load_balanced,
    pick_performance_weighted,
    pick_round_robin,
    pick_weighted,
)
from .types import Decision, LeadFacts, RepLoad, RotationState
from .values import normalise_lead, raw_lead

__all__ = ["HOLD_REASON_SUFFIX", "decide"]

#: how the reason of a lead held by its rule ends (the routing flow counts holds by it)
HOLD_REASON_SUFFIX = "; the rule holds the lead"

_EMPTY: frozenset[str] = frozenset()
_NO_DATA: Mapping[str, object] = {}


@dataclass(slots=True)
class _RuleRun:
    pick: Pick | None
    pool: Pool | None
    forced: bool
    #: the pools walked without finding anyone (for "$lead" targets)
    passed: list[str]
    #: candidates seen in the strict pass
    seen: int
    #: account_owner found no account for the lead: the rule simply does not apply
    no_account: bool
    domain: str | None


def _str_or_none(v: object) -> str | None:
    return v if isinstance(v, str) and v else None


def _requirement(v: object) -> str | None:
    if v is None:
        return None
    if isinstance(v, tuple):
        v = v[0] if v else None
        if v is None:
            return None
    return v if isinstance(v, str) else str(v).lower()


def _pick(
    rule: CompiledRule,
    pool: Pool,
    ctx: EligibilityContext,
    data: Mapping[str, object],
    skip: set[int],
    why_not: Any,
    trace: CandidateTrace,
) -> Pick | None:
    strategy = rule.strategy
    state = data.get(pool.key)
    if strategy == "round_robin":
        return pick_round_robin(pool.reps, pool.ids, state, skip, why_not, trace)
    if strategy == "weighted_round_robin":
        return pick_weighted(
            pool.reps, pool.weights, state, skip, why_not, trace, pool_sids=pool.sids
        )
    if strategy == "load_balanced":
        return pick_load_balanced(pool.reps, ctx, skip, why_not, trace)
    if strategy == "performance_weighted":
        return pick_performance_weighted(
            pool.reps, ctx, state, skip, why_not, trace, pool_sids=pool.sids
        )
    # account_owner: a one-rep pool
    rep = pool.reps[0]
    if rep.rep_id in skip:
        return None
    why = why_not(rep)
    if why is not None:
        skip.add(rep.rep_id)
        trace.refuse(rep, why)
        return None
    trace.add(rep, True, f"owner of {pool.key}")
    return Pick(rep=rep, state=None, eligible=1, summary=f"account owner of {pool.key}")


def _pools(
    compiled: CompiledConfig, rule: CompiledRule, territory: str | None, vals: Mapping[str, object]
) -> tuple[list[Pool], str | None]:
    kind = rule.target_kind
    if kind == "lead":
        if territory is None:
            return [], None
        pools = compiled.territory_pools
        return [pools[c] for c in compiled.territories.chain[territory]], None
    if kind == "account":
        domain = vals.get("email_domain")
        d = domain if isinstance(domain, str) else ""
        accounts = compiled.accounts
        while d:
            owner = accounts.get(d)
            if owner is not None:
                rep = compiled.reps[owner]
                pool = Pool(
                    key=d, reps=(rep,), ids=(rep.rep_id,), weights=(1,), sids=frozenset({rep.sid})
                )
                return [pool], d
            # eu.acme.com is covered by the account acme.com
            _, dot, d = d.partition(".")
            if not dot or "." not in d:
                break
        return [], (domain if isinstance(domain, str) else None)
    return ([rule.pool] if rule.pool is not None else []), None


def _run_rule(
    compiled: CompiledConfig,
    rule: CompiledRule,
    vals: Mapping[str, object],
    territory: str | None,
    ctx: EligibilityContext,
    data: Mapping[str, object],
    trace: CandidateTrace,
) -> _RuleRun:
    hours = rule.respect_working_hours
    skill = _requirement(vals.get(rule.require_skill_from)) if rule.require_skill_from else None
    language = _requirement(vals.get("language")) if rule.require_language else None

    why_not = ctx.checker(hours=hours, skill=skill, language=language)

    pools, domain = _pools(compiled, rule, territory, vals)
    if rule.target_kind == "account" and not pools:
        return _RuleRun(None, None, False, [], 0, True, domain)
    skip: set[int] = set()
    passed: list[str] = []
    for pool in pools:
        pick = _pick(rule, pool, ctx, data, skip, why_not, trace)
        if pick is not None:
            return _RuleRun(pick, pool, False, passed, len(skip) + pick.eligible, False, domain)
        passed.append(pool.key)
    seen = len(skip)
    if rule.when_no_one_eligible == "assign_anyway":
        why_not_relaxed = ctx.checker(hours=hours, skill=skill, language=language, relaxed=True)
        scratch = (
            CandidateTrace()
        )  # the trace keeps the strict verdicts: that is what a manager needs
        skip = set()
        for pool in pools:
            pick = _pick(rule, pool, ctx, data, skip, why_not_relaxed, scratch)
            if pick is not None:
                if not any(e["rep"] == pick.rep.username for e in trace.entries):
                    trace.entries.append(
                        {
                            "rep": pick.rep.username,
                            "eligible": False,
                            "why": "ineligible; assigned anyway",
                            "code": Why.ASSIGNED_ANYWAY,
                        }
                    )
                return _RuleRun(pick, pool, True, passed[: pools.index(pool)], seen, False, domain)
    return _RuleRun(None, None, False, passed, seen, False, domain)


def _where(pool: Pool) -> str:
    return "listed in the rule" if pool.key == "reps" else f"of {pool.key}"


def _reason(rule: CompiledRule, run: _RuleRun) -> str:
    assert run.pick is not None and run.pool is not None
    if rule.strategy == "account_owner":
        text = f"{rule.name}: {run.pick.summary}"
    else:
        text = f"{rule.name}: {run.pick.summary} {_where(run.pool)}"
    if run.passed:
        text += f" (no one eligible in {', '.join(run.passed)})"
    if run.forced:
        text += "; no one was available, assigned anyway"
    return text


def _resolve_territory(compiled: CompiledConfig, fields: Mapping[str, object]) -> str | None:
    index = compiled.territories
    if "territory" in fields:
        given = fields["territory"]
        return given if isinstance(given, str) and given in index.defs else None
    return index.match(
        _str_or_none(fields.get("country")),
        _str_or_none(fields.get("region")),
        _str_or_none(fields.get("postal_code")),
    )


def decide(
    compiled: CompiledConfig,
    lead: LeadFacts,
    *,
    loads: Mapping[int, RepLoad],
    rotations: Mapping[int, RotationState],
    now: datetime.datetime,
    exclude_rep_ids: frozenset[int] = frozenset(),
    only_rule_id: int | None = None,
) -> Decision:
    """Route one lead. ``now`` must be timezone-aware. ``exclude_rep_ids``: reps who already held
    the lead; ``only_rule_id``: evaluate just that rule (reassignment "by the same rule")."""
    fields = lead.fields
    territory = _resolve_territory(compiled, fields)
    ancestors = compiled.territories.ancestors.get(territory, _EMPTY) if territory else _EMPTY
    vals = normalise_lead(fields, territory, ancestors)
    raw = raw_lead(fields, territory, vals.get("email_domain"))
    shown: dict[object, str] = {}
    ctx = EligibilityContext(now, loads, exclude_rep_ids)

    rules: Sequence[CompiledRule]
    if only_rule_id is None:
        rules = compiled.rules
    else:
        only = compiled.rules_by_id.get(only_rule_id)
        rules = (only,) if only is not None else ()

    entries: list[dict[str, Any]] = []
    append = entries.append
    matched = 0
    candidates_seen = 0
    for rule in rules:
        if not rule.active:
            append(
                {
                    "rule": rule.name,
                    "rule_id": rule.rule_id,
                    "position": rule.position,
                    "matched": False,
                    "detail": "inactive",
                    "candidates": [],
                    "chosen": None,
                }
            )
            continue
        failed = rule.first_failure(vals)
        if failed is not None:
            # hot path: most rules fail here; describe each field's value once per lead
            key = failed.shown_key
            suffix = shown.get(key)
            if suffix is None:
                suffix = shown[key] = failed.shown(raw)
            detail = failed.failed_prefix + suffix
            append(
                {
                    "rule": rule.name,
                    "rule_id": rule.rule_id,
                    "position": rule.position,
                    "matched": False,
                    "detail": detail,
                    "candidates": [],
                    "chosen": None,
                }
            )
            continue

        matched += 1
        rotation = rotations.get(rule.rule_id)
        data = rotation.data if rotation is not None else _NO_DATA
        trace = CandidateTrace()
        run = _run_rule(compiled, rule, vals, territory, ctx, data, trace)
        candidates_seen += run.seen
        entry: dict[str, Any] = {
            "rule": rule.name,
            "rule_id": rule.rule_id,
            "position": rule.position,
            "matched": True,
            "detail": rule.matched_detail,
            "candidates": trace.entries,
            "chosen": None,
            "pool": run.pool.key if run.pool is not None else None,
        }
        if trace.omitted:
            entry["omitted"] = trace.omitted
        append(entry)
        pick = run.pick
        if pick is not None and run.pool is not None:
            entry["chosen"] = pick.rep.username
            if run.forced:
                entry["forced"] = True
                entry["detail"] += "; no one was available, assigned anyway"
            reason = _reason(rule, run)
            new_rotation = None
            if pick.state is not None:
                new_data = dict(data)
                new_data[run.pool.key] = pick.state
                new_rotation = RotationState(rule_id=rule.rule_id, data=new_data)
            return Decision(
                outcome="assigned",
                rep_id=pick.rep.rep_id,
                username=pick.rep.username,
                rule_id=rule.rule_id,
                rule_name=rule.name,
                strategy=rule.strategy,
                territory=territory,
                pool=run.pool.key,
                sla_minutes=rule.sla_minutes,
                forced=run.forced,
                hold=False,
                reason=reason,
                trace=_trace(now, territory, entries, "assigned", reason),
                new_rotation=new_rotation,
            )
        if run.no_account:
            entry["detail"] += (
                f"; no account for {run.domain!r}"
                if run.domain
                else "; the lead has no email domain"
            )
            continue
        where = ", ".join(run.passed) if run.passed else "an empty pool"
        if rule.target_kind == "lead" and territory is None:
            entry["detail"] += "; the lead has no territory"
        else:
            entry["detail"] += f"; no eligible rep among {run.seen} in {where}"
        if rule.when_no_one_eligible == "hold":
            reason = f"{rule.name}: no eligible rep among {run.seen} in {where}{HOLD_REASON_SUFFIX}"
            return _unrouted(now, territory, entries, reason, hold=True, rule=rule)

    if only_rule_id is not None and not rules:
        reason = f"Rule {only_rule_id} no longer exists"
    elif matched == 0:
        reason = f"No rule matched this lead ({len(entries)} rules evaluated)"
    else:
        reason = (
            f"No rule found an eligible rep ({matched} rule{'s' if matched != 1 else ''} matched, "
            f"0 eligible reps among {candidates_seen} candidates)"
        )
    return _unrouted(now, territory, entries, reason, hold=False, rule=None)


def _trace(
    now: datetime.datetime,
    territory: str | None,
    entries: list[dict[str, Any]],
    outcome: str,
    reason: str,
) -> dict[str, Any]:
    return {
        "evaluated_at": now.isoformat(),
        "territory": territory,
        "rules": entries,
        "outcome": outcome,
        "reason": reason,
    }


def _unrouted(
    now: datetime.datetime,
    territory: str | None,
    entries: list[dict[str, Any]],
    reason: str,
    *,
    hold: bool,
    rule: CompiledRule | None,
) -> Decision:
    return Decision(
        outcome="unrouted",
        rep_id=None,
        username=None,
        rule_id=rule.rule_id if rule is not None else None,
        rule_name=rule.name if rule is not None else None,
        strategy=rule.strategy if rule is not None else None,
        territory=territory,
        pool=None,
        sla_minutes=None,
        forced=False,
        hold=hold,
        reason=reason,
        trace=_trace(now, territory, entries, "unrouted", reason),
        new_rotation=None,
    )
