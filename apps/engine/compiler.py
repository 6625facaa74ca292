"""Validate a configuration snapshot completely and precompile it for fast decisions."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .conditions import Condition, compile_conditions
from .eligibility import CompiledRep, compile_rep
from .grammar import LEAD_TARGET, TARGETLESS_STRATEGIES
from .territories import TerritoryIndex, build_territory_index
from .types import STRATEGIES, WHEN_NO_ONE_ELIGIBLE, ConfigSnapshot, RepProfile, RuleDef
from .values import format_value, is_lead_field

__all__ = [
    "CompiledConfig",
    "CompiledRule",
    "ConfigError",
    "Pool",
    "compile_config",
    "conditions_first_failure",
    "lead_territory",
]


class ConfigError(Exception):
    """The configuration is invalid. ``errors`` maps a dotted path ("rules.2.conditions.0.field",
    indexes into the snapshot's tuples) to every message found there; all errors are collected."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        count = sum(len(v) for v in errors.values())
        first = next(iter(errors.items()), ("", [""]))
        super().__init__(f"{count} configuration error(s), first: {first[0]}: {first[1][0]}")


@dataclass(frozen=True, slots=True, eq=False)
class Pool:
    """Reps a rule picks from, in stable rep_id order, with their weights for this rule."""

    key: str
    reps: tuple[CompiledRep, ...]
    ids: tuple[int, ...]
    weights: tuple[int, ...]
    sids: frozenset[str]


def _pool(key: str, reps: list[CompiledRep], weights: Mapping[int, int] | None = None) -> Pool:
    ordered = sorted({r.rep_id: r for r in reps}.values(), key=lambda r: r.rep_id)
    return Pool(
        key=key,
        reps=tuple(ordered),
        ids=tuple(r.rep_id for r in ordered),
        weights=tuple(
            weights.get(r.rep_id, r.weight) if weights is not None else r.weight for r in ordered
        ),
        sids=frozenset(r.sid for r in ordered),
    )


@dataclass(frozen=True, slots=True, eq=False)
class CompiledRule:
    rule_id: int
    name: str
    position: int
    active: bool
    conditions: tuple[Condition, ...]
    matched_detail: str
    #: "territory" (fixed pool), "lead" ($lead, walks up), "reps" (listed reps) or "account"
    target_kind: str
    pool: Pool | None
    strategy: str
    sla_minutes: int | None
    respect_working_hours: bool
    require_skill_from: str | None
    require_language: bool
    when_no_one_eligible: str
    #: vals -> the first condition that fails, or None when all hold (one call per rule per lead)
    first_failure: Callable[[Mapping[str, object]], Condition | None]


def conditions_first_failure(
    conditions: tuple[Condition, ...],
) -> Callable[[Mapping[str, object]], Condition | None]:
    # specialised for the common short lists: a closure call is cheaper than a Python loop
    if not conditions:
        return lambda vals: None
    if len(conditions) == 1:
        (c1,) = conditions
        k1 = c1.check
        return lambda vals: None if k1(vals) else c1
    if len(conditions) == 2:
        c1, c2 = conditions
        k1, k2 = c1.check, c2.check

        def two(vals: Mapping[str, object]) -> Condition | None:
            if not k1(vals):
                return c1
            return None if k2(vals) else c2

        return two
    pairs = tuple((c.check, c) for c in conditions)

    def many(vals: Mapping[str, object]) -> Condition | None:
        for check, cond in pairs:
            if not check(vals):
                return cond
        return None

    return many


@dataclass(frozen=True, slots=True, eq=False)
class CompiledConfig:
    """A validated configuration, ready for :func:`decide`. Build once per config version."""

    version: int
    territories: TerritoryIndex
    reps: dict[int, CompiledRep]
    #: territory code -> its reps and its descendants' reps
    territory_pools: dict[str, Pool]
    #: lower-cased domain -> owner rep_id
    accounts: dict[str, int]
    rules: tuple[CompiledRule, ...]
    rules_by_id: dict[int, CompiledRule]


def _err(errors: dict[str, list[str]], path: str, message: str) -> None:
    errors.setdefault(path, []).append(message)


def _compile_reps(
    reps: tuple[RepProfile, ...], index: TerritoryIndex, errors: dict[str, list[str]]
) -> dict[int, CompiledRep]:
    out: dict[int, CompiledRep] = {}
    usernames: set[str] = set()
    zones: dict[str, ZoneInfo] = {}
    for i, rep in enumerate(reps):
        p = f"reps.{i}"
        ok = True
        if rep.rep_id in out:
            _err(errors, f"{p}.rep_id", f"duplicate rep id {rep.rep_id}")
            ok = False
        if not rep.username:
            _err(errors, f"{p}.username", "username is required")
            ok = False
        elif rep.username in usernames:
            _err(errors, f"{p}.username", f"duplicate username '{rep.username}'")
            ok = False
        tz = zones.get(rep.time_zone)
        if tz is None:
            try:
                tz = ZoneInfo(rep.time_zone)
                zones[rep.time_zone] = tz
            except (ZoneInfoNotFoundError, ValueError):
                _err(errors, f"{p}.time_zone", f"unknown time zone '{rep.time_zone}'")
                ok = False
        for code in sorted(rep.territories):
            if code not in index.defs:
                _err(errors, f"{p}.territories", f"unknown territory '{code}'")
        if rep.weight < 0:
            _err(errors, f"{p}.weight", "weight must be 0 or more")
        if rep.max_open_leads is not None and rep.max_open_leads < 0:
            _err(errors, f"{p}.max_open_leads", "must be 0 or more")
        if rep.max_daily_leads is not None and rep.max_daily_leads < 0:
            _err(errors, f"{p}.max_daily_leads", "must be 0 or more")
        for k, w in enumerate(rep.working_hours):
            if not w.weekdays or any(not 0 <= d <= 6 for d in w.weekdays):
                _err(errors, f"{p}.working_hours.{k}.weekdays", "weekdays must be 0 (Monday) to 6")
        for k, t in enumerate(rep.time_off):
            if t.starts_at.tzinfo is None or t.ends_at.tzinfo is None:
                _err(errors, f"{p}.time_off.{k}", "times must be timezone-aware")
            elif t.ends_at <= t.starts_at:
                _err(errors, f"{p}.time_off.{k}.ends_at", "must be after starts_at")
        if ok and tz is not None:
            usernames.add(rep.username)
            out[rep.rep_id] = compile_rep(rep, tz)
    return out


def _compile_target(
    rule: RuleDef,
    p: str,
    index: TerritoryIndex,
    reps: dict[int, CompiledRep],
    by_username: dict[str, CompiledRep],
    territory_pools: dict[str, Pool],
    errors: dict[str, list[str]],
) -> tuple[str, Pool | None]:
    target = rule.target
    if rule.strategy in TARGETLESS_STRATEGIES:
        if target:
            _err(
                errors,
                f"{p}.target",
                f"{rule.strategy} takes no target: it picks the account's owner",
            )
        return "account", None
    if not target:
        _err(errors, f"{p}.target", f"a target is required for {rule.strategy}")
        return "territory", None
    if (
        not isinstance(target, Mapping)
        or len(target) != 1
        or not ({"territory", "reps"} & set(target))
    ):
        _err(
            errors,
            f"{p}.target",
            'target must be {"territory": CODE}, {"territory": "$lead"} or {"reps": [...]}',
        )
        return "territory", None
    if "territory" in target:
        code = target["territory"]
        if code == LEAD_TARGET:
            return "lead", None
        if not isinstance(code, str) or code not in index.defs:
            _err(errors, f"{p}.target.territory", f"unknown territory {format_value(code)}")
            return "territory", None
        return "territory", territory_pools[code]
    listed = target["reps"]
    if not isinstance(listed, list | tuple) or not listed:
        _err(errors, f"{p}.target.reps", 'reps must be a non-empty list of {"username", "weight"?}')
        return "reps", None
    chosen: list[CompiledRep] = []
    weights: dict[int, int] = {}
    for k, item in enumerate(listed):
        ip = f"{p}.target.reps.{k}"
        if isinstance(item, str):
            item = {"username": item}
        if not isinstance(item, Mapping):
            _err(errors, ip, 'each rep must be {"username", "weight"?}')
            continue
        username = item.get("username")
        rep = by_username.get(username) if isinstance(username, str) else None
        if rep is None:
            _err(errors, f"{ip}.username", f"unknown rep {format_value(username)}")
            continue
        if rep.rep_id in weights:
            _err(errors, f"{ip}.username", f"rep '{username}' is listed twice")
            continue
        weight = item.get("weight", rep.weight)
        if not isinstance(weight, int) or isinstance(weight, bool) or weight < 0:
            _err(errors, f"{ip}.weight", "weight must be an integer, 0 or more")
            continue
        chosen.append(rep)
        weights[rep.rep_id] = weight
    return "reps", _pool("reps", chosen, weights)


def compile_config(snapshot: ConfigSnapshot) -> CompiledConfig:
    """Validate everything (collecting all errors) and precompile; raises :class:`ConfigError`."""
    errors: dict[str, list[str]] = {}
    index = build_territory_index(snapshot.territories, errors)
    reps = _compile_reps(snapshot.reps, index, errors)
    by_username = {r.username: r for r in reps.values()}

    direct: dict[str, list[CompiledRep]] = {code: [] for code in index.defs}
    for profile in snapshot.reps:
        rep = reps.get(profile.rep_id)
        if rep is None or rep.username != profile.username:
            continue
        for code in profile.territories:
            if code in direct:
                direct[code].append(rep)
    territory_pools = {
        code: _pool(code, [r for d in index.descendants[code] for r in direct[d]])
        for code in index.defs
    }

    accounts: dict[str, int] = {}
    for domain, owner in snapshot.accounts.items():
        d = domain.strip().lower()
        if not d:
            _err(errors, "accounts", "an account domain is empty")
        elif owner not in reps:
            _err(errors, f"accounts.{domain}", f"unknown owner rep id {owner}")
        elif d in accounts:
            _err(errors, f"accounts.{domain}", f"duplicate account domain '{d}'")
        else:
            accounts[d] = owner

    codes = frozenset(index.defs)
    compiled_rules: list[CompiledRule] = []
    seen_ids: set[int] = set()
    for i, rule in enumerate(snapshot.rules):
        p = f"rules.{i}"
        if rule.rule_id in seen_ids:
            _err(errors, f"{p}.rule_id", f"duplicate rule id {rule.rule_id}")
        seen_ids.add(rule.rule_id)
        if not rule.name or not rule.name.strip():
            _err(errors, f"{p}.name", "a rule needs a name")
        conditions = compile_conditions(
            rule.conditions, f"{p}.conditions", territory_codes=codes, errors=errors
        )
        strategy_ok = rule.strategy in STRATEGIES
        if not strategy_ok:
            _err(errors, f"{p}.strategy", f"unknown strategy {format_value(rule.strategy)}")
        if rule.when_no_one_eligible not in WHEN_NO_ONE_ELIGIBLE:
            _err(
                errors,
                f"{p}.when_no_one_eligible",
                f"unknown value {format_value(rule.when_no_one_eligible)}; "
                "use next_rule, hold or assign_anyway",
            )
        if rule.require_skill_from is not None and not is_lead_field(rule.require_skill_from):
            _err(
                errors,
                f"{p}.require_skill_from",
                f"unknown field {format_value(rule.require_skill_from)}",
            )
        if rule.sla_minutes is not None and rule.sla_minutes <= 0:
            _err(errors, f"{p}.sla_minutes", "must be a positive number of minutes")
        kind, pool = (
            _compile_target(rule, p, index, reps, by_username, territory_pools, errors)
            if strategy_ok
            else ("territory", None)
        )
        n = len(conditions)
        compiled_rules.append(
            CompiledRule(
                rule_id=rule.rule_id,
                name=rule.name,
                position=rule.position,
                active=rule.active,
                conditions=conditions,
                matched_detail=f"all {n} condition{'s' if n != 1 else ''} hold"
                if n
                else "no conditions",
                target_kind=kind,
                pool=pool,
                strategy=rule.strategy,
                sla_minutes=rule.sla_minutes,
                respect_working_hours=rule.respect_working_hours,
                require_skill_from=rule.require_skill_from,
                require_language=rule.require_language,
                when_no_one_eligible=rule.when_no_one_eligible,
                first_failure=conditions_first_failure(conditions),
            )
        )
    if errors:
        raise ConfigError(errors)
    # position order; the snapshot order breaks ties so equal positions stay deterministic
    ordered = tuple(
        r for _, _, r in sorted((r.position, k, r) for k, r in enumerate(compiled_rules))
    )
    return CompiledConfig(
        version=snapshot.version,
        territories=index,
        reps=reps,
        territory_pools=territory_pools,
        accounts=accounts,
        rules=ordered,
        rules_by_id={r.rule_id: r for r in ordered},
    )


def lead_territory(
    compiled: CompiledConfig,
    *,
    country: str | None,
    region: str | None,
    postal_code: str | None,
) -> str | None:
    """The lead's territory code: longest postal prefix, then region, then country; ties go deeper.

    A postal prefix only matches a lead in the territory's countries: its own, those implied by
    its regions, or else its nearest ancestor's (a territory with none anywhere matches any country).
    """
    return compiled.territories.match(country, region, postal_code)
