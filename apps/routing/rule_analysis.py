"""Rule analysis on live data: warnings per rule and the routing flow, in a fixed number of queries.

The one analysis the rule admin and the quarterly audit share:

* :func:`rule_warnings` -- per rule, what a manager must know: it can never fire (shadowed by an
  earlier rule, :func:`apps.engine.coverage.rule_shadows`), it took no lead in the last 30 days,
  its target has no reps, or no rep of its target is eligible right now.
* :func:`rule_hits` -- leads each rule took in a window (``Assignment.rule``, on the
  ``assignment_rule_at_idx`` index).
* :func:`rule_flow` -- the ordered rules as a flow over a window: per rule the leads it took,
  held, and passed on (matched, but no one was eligible: the lead went on to the next rule).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Count, QuerySet
from django.utils import timezone

from apps.engine import ConfigError
from apps.engine.compiler import CompiledConfig, CompiledRule
from apps.engine.coverage import Shadow, rule_shadows
from apps.engine.decide import HOLD_REASON_SUFFIX
from apps.engine.eligibility import CompiledRep, EligibilityContext
from apps.leads.models import LeadActivity, LeadActivityKind
from apps.routing.models import Assignment, AssignmentKind
from apps.routing.selectors import CurrentConfig, config_current, rep_loads
from apps.rules.models import RoutingRule

__all__ = [
    "FLOW_WINDOWS",
    "HIT_WINDOW_DAYS",
    "FlowStep",
    "RoutingFlow",
    "RuleWarning",
    "WarningCode",
    "rule_flow",
    "rule_hits",
    "rule_warnings",
    "unrouted_activities",
]

#: "matched nothing in the last 30 days"
HIT_WINDOW_DAYS = 30
#: the windows the routing flow page offers, in days
FLOW_WINDOWS = (7, 30, 90)
#: assignments that are a rule's own routing decision (not a manual move or a duplicate's copy)
_DECIDED_KINDS = (
    AssignmentKind.AUTO,
    AssignmentKind.RETRY,
    AssignmentKind.REASSIGN_INACTIVITY,
    AssignmentKind.REASSIGN_UNAVAILABLE,
)
#: assignments that end a lead's way through the rules in the flow: its first routing or a retry
_FLOW_KINDS = (AssignmentKind.AUTO, AssignmentKind.RETRY)
_REASONS_SHOWN = 3


class WarningCode:
    """Machine codes of :class:`RuleWarning` (stable: the audit and tests key on them)."""

    SHADOWED = "shadowed"
    NO_HITS = "no_hits"
    NO_REPS = "no_reps"
    NO_ELIGIBLE_REP = "no_eligible_rep"


@dataclass(frozen=True, slots=True)
class RuleWarning:
    """One problem with a rule: a machine ``code`` and a sentence for a manager."""

    code: str
    text: str


def rule_hits(
    *, since: datetime, until: datetime | None = None, rule_ids: Iterable[int] | None = None
) -> dict[int, int]:
    """Leads each rule assigned by its own decision in [since, until), by rule id (one query).

    Rules that took none are absent.
    """
    rows = Assignment.objects.filter(
        rule__isnull=False, assigned_at__gte=since, kind__in=_DECIDED_KINDS
    )
    if until is not None:
        rows = rows.filter(assigned_at__lt=until)
    if rule_ids is not None:
        rows = rows.filter(rule_id__in=list(rule_ids))
    counts = rows.order_by().values("rule_id").annotate(n=Count("id")).values_list("rule_id", "n")
    return dict(counts)


def _rule_pool_reps(compiled: CompiledConfig, rule: CompiledRule) -> tuple[CompiledRep, ...]:
    """Everyone the rule could ever pick: its pool, or for a ``$lead`` target every rep with a
    territory."""
    if rule.target_kind == "lead":
        roots = [c for c, d in compiled.territories.defs.items() if d.parent is None]
        reps = {r.rep_id: r for code in roots for r in compiled.territory_pools[code].reps}
        return tuple(reps[k] for k in sorted(reps))
    return rule.pool.reps if rule.pool is not None else ()


def _fallback(rule: CompiledRule) -> str:
    return {
        "hold": "leads it matches wait unrouted",
        "assign_anyway": "it assigns anyway",
    }.get(rule.when_no_one_eligible, "leads it matches pass to the next rule")


def _target_warnings(
    compiled: CompiledConfig, rule: CompiledRule, ctx: EligibilityContext
) -> list[RuleWarning]:
    if rule.target_kind == "account":
        return []  # the owner depends on the lead
    reps = _rule_pool_reps(compiled, rule)
    if not reps:
        where = "No rep has a territory" if rule.target_kind == "lead" else "Its target has no reps"
        return [RuleWarning(WarningCode.NO_REPS, f"{where}: {_fallback(rule)}.")]
    reasons: list[str] = []
    for rep in reps:
        why = ctx.why_not(rep, hours=rule.respect_working_hours, skill=None, language=None)
        if why is None:
            return []
        reasons.append(f"{rep.username} {why.text}")
    shown = "; ".join(reasons[:_REASONS_SHOWN])
    if len(reasons) > _REASONS_SHOWN:
        shown += f"; and {len(reasons) - _REASONS_SHOWN} more"
    return [
        RuleWarning(
            WarningCode.NO_ELIGIBLE_REP,
            f"No rep of its target is eligible right now ({shown}): {_fallback(rule)}.",
        )
    ]


def _no_hits_text(age: timedelta) -> str:
    if age >= timedelta(days=HIT_WINDOW_DAYS):
        return f"Took no lead in the last {HIT_WINDOW_DAYS} days."
    if age < timedelta(days=1):
        return "Took no lead yet (created today)."
    days = age.days
    return f"Took no lead since it was created {days} day{'s' if days != 1 else ''} ago."


def _shadow_warning(shadow: Shadow) -> RuleWarning:
    return RuleWarning(WarningCode.SHADOWED, shadow.text)


def rule_shadows_live(config: CurrentConfig) -> dict[int, Shadow]:
    """:func:`rule_shadows` of the configuration routing uses now."""
    try:
        return rule_shadows(config.snapshot, config.compiled)
    except ConfigError:  # pragma: no cover - a CurrentConfig always compiled
        return {}


def rule_warnings(
    *, now: datetime | None = None, config: CurrentConfig | None = None
) -> dict[int, list[RuleWarning]]:
    """Every active rule's warnings, by rule id (rules without any are absent).

    Reads the configuration routing uses now (cached, :func:`config_current`), the rules'
    creation times, the reps' live loads and the rules' hits over the last
    :data:`HIT_WINDOW_DAYS` days: a fixed number of queries however many rules there are.
    """
    now = now or timezone.now()
    config = config or config_current()
    compiled = config.compiled
    since = now - timedelta(days=HIT_WINDOW_DAYS)
    created = dict(RoutingRule.objects.values_list("id", "created_at"))
    hits = rule_hits(since=since, until=now)
    ctx = EligibilityContext(now, rep_loads(now=now, need_rates=False), frozenset())
    shadows = rule_shadows_live(config)

    warnings: dict[int, list[RuleWarning]] = {}
    for rule in compiled.rules:
        if not rule.active or rule.rule_id not in created:
            continue
        found: list[RuleWarning] = []
        if rule.rule_id in shadows:
            found.append(_shadow_warning(shadows[rule.rule_id]))
        if not hits.get(rule.rule_id):
            age = now - created[rule.rule_id]
            found.append(RuleWarning(WarningCode.NO_HITS, _no_hits_text(age)))
        found.extend(_target_warnings(compiled, rule, ctx))
        if found:
            warnings[rule.rule_id] = found
    return warnings


# --- the routing flow ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FlowStep:
    """One active rule in the flow: leads that reached it, and what it did with them."""

    rule_id: int
    name: str
    position: int
    #: leads that got this far (came in, minus those earlier rules took or held)
    reached: int
    #: leads it assigned
    took: int
    #: leads it matched and held unrouted (``when_no_one_eligible = hold``, no one eligible)
    held: int
    #: leads it matched but passed on: no one eligible, so the next rules were tried
    passed: int
    warnings: tuple[RuleWarning, ...] = ()


@dataclass(frozen=True, slots=True)
class RoutingFlow:
    """The routing decisions of a window drawn over the rules as they are ordered now."""

    days: int
    since: datetime
    until: datetime
    #: routing decisions in the window: leads assigned by a rule (first routing or a retry),
    #: and leads that became unrouted
    lead_in: int
    steps: tuple[FlowStep, ...]
    #: decisions taken by rules that are no longer active (deleted or switched off since)
    by_other_rules: int
    #: leads no rule took or held: they wait unrouted
    unrouted: int


_PASSED_SQL = {
    "postgresql": """
        SELECT (e.value->>'rule_id')::bigint, COUNT(*),
               COUNT(*) FILTER (WHERE jsonb_typeof(e.value->'candidates') = 'array'
                                  AND jsonb_array_length(e.value->'candidates') > 0)
        FROM {table} a
        CROSS JOIN LATERAL jsonb_array_elements(
            CASE WHEN jsonb_typeof(a.trace->'rules') = 'array' THEN a.trace->'rules'
                 ELSE '[]'::jsonb END) AS e(value)
        WHERE a.kind = ANY(%s) AND a.assigned_at >= %s AND a.assigned_at < %s
          AND e.value->>'matched' = 'true' AND COALESCE(e.value->>'chosen', '') = ''
          AND e.value ? 'rule_id'
        GROUP BY 1
    """,
    "sqlite": """
        SELECT json_extract(e.value, '$.rule_id'), COUNT(*),
               SUM(CASE WHEN json_array_length(e.value, '$.candidates') > 0 THEN 1 ELSE 0 END)
        FROM {table} a, json_each(a.trace, '$.rules') e
        WHERE a.kind IN ({kinds}) AND a.assigned_at >= %s AND a.assigned_at < %s
          AND json_extract(e.value, '$.matched') = 1
          AND COALESCE(json_extract(e.value, '$.chosen'), '') = ''
          AND json_extract(e.value, '$.rule_id') IS NOT NULL
        GROUP BY 1
    """,
}


def _passed_in_assignments(since: datetime, until: datetime) -> tuple[Counter[int], Counter[int]]:
    """Per rule, the assigned leads it matched and passed on (from the traces, in the database):
    all of them, and those where it had candidates (see :func:`rule_flow` on account owners)."""
    ops = connection.ops
    bounds = [ops.adapt_datetimefield_value(since), ops.adapt_datetimefield_value(until)]
    kinds = [str(k) for k in _FLOW_KINDS]
    table = connection.ops.quote_name(Assignment._meta.db_table)
    if connection.vendor == "postgresql":
        sql, params = _PASSED_SQL["postgresql"].format(table=table), [kinds, *bounds]
    else:
        placeholders = ", ".join(["%s"] * len(kinds))
        sql = _PASSED_SQL["sqlite"].format(table=table, kinds=placeholders)
        params = [*kinds, *bounds]
    passed: Counter[int] = Counter()
    with_candidates: Counter[int] = Counter()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for rule_id, n, seen in cursor.fetchall():
            if rule_id is not None:
                passed[int(rule_id)] = n
                with_candidates[int(rule_id)] = seen or 0
    return passed, with_candidates


def unrouted_activities(*, since: datetime, until: datetime) -> QuerySet[LeadActivity]:
    """The decisions that left a lead unrouted in the window (lead_activity_unrouted_at_idx)."""
    return LeadActivity.objects.filter(kind=LeadActivityKind.UNROUTED, at__gte=since, at__lt=until)


def _unrouted_decisions(
    since: datetime, until: datetime
) -> tuple[int, Counter[int], Counter[int], Counter[int]]:
    """Leads that became unrouted in the window: how many, held by rule, passed on by rule, and
    passed on by rule with candidates."""
    held: Counter[int] = Counter()
    passed: Counter[int] = Counter()
    with_candidates: Counter[int] = Counter()
    total = 0
    rows = unrouted_activities(since=since, until=until).values_list("data", flat=True)
    for data in rows.iterator(chunk_size=2000):
        total += 1
        trace = data.get("trace") if isinstance(data, Mapping) else None
        entries = trace.get("rules") if isinstance(trace, Mapping) else None
        if not isinstance(entries, list):
            continue
        reason = trace.get("reason") if isinstance(trace, Mapping) else None
        holder = None
        if isinstance(reason, str) and reason.endswith(HOLD_REASON_SUFFIX) and entries:
            last = entries[-1]
            holder = last.get("rule_id") if isinstance(last, Mapping) else None
            if isinstance(holder, int):
                held[holder] += 1
        for k, entry in enumerate(entries):
            if not isinstance(entry, Mapping) or not entry.get("matched"):
                continue
            rule_id = entry.get("rule_id")
            if isinstance(rule_id, int) and not (holder is not None and k == len(entries) - 1):
                passed[rule_id] += 1
                if entry.get("candidates"):
                    with_candidates[rule_id] += 1
    return total, held, passed, with_candidates


def rule_flow(
    *,
    days: int,
    now: datetime | None = None,
    warnings: Mapping[int, list[RuleWarning]] | None = None,
) -> RoutingFlow:
    """The routing decisions of the last ``days`` days over the active rules in their order now.

    ``took`` counts assignments (first routing or a retry) by the rule; ``held`` the leads that
    became unrouted because the rule held them; ``passed`` the decisions in which the rule
    matched but found no one eligible and let the lead go on (read from the decisions' traces).
    A lead held, then retried and assigned, counts as two decisions. Decisions by rules that are
    no longer active are counted apart, so the flow's arithmetic holds: ``lead_in`` =
    ``by_other_rules`` + every step's ``took`` + ``held`` + ``unrouted``. An account-owner rule
    that finds no account for a lead does not apply to it, so it does not count as passing it
    on. Four queries.
    """
    now = now or timezone.now()
    since = now - timedelta(days=days)
    rules = list(
        RoutingRule.objects.filter(active=True)
        .order_by("position", "id")
        .values_list("id", "name", "position", "strategy")
    )
    took = Counter(
        dict(
            Assignment.objects.filter(
                kind__in=_FLOW_KINDS, assigned_at__gte=since, assigned_at__lt=now
            )
            .order_by()
            .values("rule_id")
            .annotate(n=Count("id"))
            .values_list("rule_id", "n")
        )
    )
    passed, passed_seen = _passed_in_assignments(since, now)
    unrouted_total, held, passed_unrouted, passed_unrouted_seen = _unrouted_decisions(since, now)
    passed.update(passed_unrouted)
    passed_seen.update(passed_unrouted_seen)

    lead_in = sum(took.values()) + unrouted_total
    active_ids = {rule_id for rule_id, *_ in rules}
    by_other_rules = sum(n for rule_id, n in took.items() if rule_id not in active_ids)
    held_by_active = sum(n for rule_id, n in held.items() if rule_id in active_ids)
    reached = lead_in - by_other_rules
    steps = []
    for rule_id, name, position, strategy in rules:
        # an account-owner rule with no account for the lead does not apply (decide.py): it
        # lists no candidate and passes nothing on; with an account, its owner is a candidate
        passed_on = passed_seen if strategy == "account_owner" else passed
        steps.append(
            FlowStep(
                rule_id=rule_id,
                name=name,
                position=position,
                reached=reached,
                took=took.get(rule_id, 0),
                held=held.get(rule_id, 0),
                passed=passed_on.get(rule_id, 0),
                warnings=tuple((warnings or {}).get(rule_id, ())),
            )
        )
        reached -= took.get(rule_id, 0) + held.get(rule_id, 0)
    return RoutingFlow(
        days=days,
        since=since,
        until=now,
        lead_in=lead_in,
        steps=tuple(steps),
        by_other_rules=by_other_rules,
        unrouted=unrouted_total - held_by_active,
    )
