"""The live configuration rows as the engine sees them: a ConfigSnapshot (6 queries)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from apps.accounts.models import Account
from apps.engine import (
    ConfigError,
    ConfigSnapshot,
    RepProfile,
    RuleDef,
    TerritoryDef,
    TimeOffPeriod,
    WorkingWindow,
    compile_config,
)
from apps.reps.models import Rep, TimeOff, WorkingHours
from apps.rules.models import RoutingRule
from apps.territories.models import Territory

from .models import RoutingConfigVersion

__all__ = ["config_snapshot_build", "config_snapshot_validate_rule", "rule_def_from_row"]


def config_snapshot_build(*, rules: Iterable[RoutingRule] | None = None) -> ConfigSnapshot:
    """The live configuration as the engine sees it (6 queries)."""
    territories = tuple(
        TerritoryDef(
            code=t.code,
            name=t.name,
            parent=t.parent.code if t.parent_id else None,
            countries=frozenset(t.countries),
            regions=frozenset(t.regions),
            postal_prefixes=tuple(str(p).upper() for p in t.postal_prefixes),
        )
        for t in Territory.objects.select_related("parent")
    )
    hours: dict[int, list[WorkingWindow]] = defaultdict(list)
    for wh in WorkingHours.objects.all():
        hours[wh.rep_id].append(
            WorkingWindow(weekdays=frozenset(wh.weekdays), start=wh.start, end=wh.end)
        )
    time_off: dict[int, list[TimeOffPeriod]] = defaultdict(list)
    for period in TimeOff.objects.all():
        time_off[period.rep_id].append(
            TimeOffPeriod(starts_at=period.starts_at, ends_at=period.ends_at, reason=period.reason)
        )
    reps = tuple(
        RepProfile(
            rep_id=rep.pk,
            username=rep.user.username,
            time_zone=rep.time_zone,
            active=rep.active,
            territories=frozenset(t.code for t in rep.territories.all()),
            weight=rep.weight,
            max_open_leads=rep.max_open_leads,
            max_daily_leads=rep.max_daily_leads,
            skills=frozenset(s.lower() for s in rep.skills),
            languages=frozenset(s.lower() for s in rep.languages),
            working_hours=tuple(hours.get(rep.pk, ())),
            time_off=tuple(time_off.get(rep.pk, ())),
        )
        for rep in Rep.objects.select_related("user").prefetch_related("territories")
    )
    accounts = {
        a.domain: a.owner_id
        for a in Account.objects.filter(owner__isnull=False).only("domain", "owner")
    }
    rule_rows = (
        list(rules) if rules is not None else list(RoutingRule.objects.order_by("position", "id"))
    )
    rule_defs = tuple(rule_def_from_row(rule) for rule in rule_rows)
    latest = (
        RoutingConfigVersion.objects.order_by("-number").values_list("number", flat=True).first()
    )
    return ConfigSnapshot(
        version=latest or 0,
        territories=territories,
        reps=reps,
        accounts=accounts,
        rules=rule_defs,
    )


def rule_def_from_row(rule: RoutingRule) -> RuleDef:
    return RuleDef(
        rule_id=rule.pk or 0,
        name=rule.name,
        position=rule.position,
        active=rule.active,
        conditions=rule.conditions or [],
        target=rule.target,
        strategy=rule.strategy,
        sla_minutes=rule.sla_minutes,
        respect_working_hours=rule.respect_working_hours,
        require_skill_from=rule.require_skill_from or None,
        require_language=rule.require_language,
        when_no_one_eligible=rule.when_no_one_eligible,
        sla_business_hours=rule.sla_business_hours,
    )


def config_snapshot_validate_rule(*, rule: RoutingRule) -> dict[str, list[str]]:
    """Validate one rule (as edited) against the live territories and reps, keyed by field."""
    others = (
        [r for r in RoutingRule.objects.exclude(pk=rule.pk)]
        if rule.pk
        else list(RoutingRule.objects.all())
    )
    snapshot = config_snapshot_build(rules=[*others, rule])
    try:
        compile_config(snapshot)
    except ConfigError as exc:
        index = len(others)
        prefix = f"rules.{index}."
        errors: dict[str, list[str]] = {}
        for path, messages in exc.errors.items():
            if not path.startswith(prefix) and path != f"rules.{index}":
                continue
            rest = path[len(prefix) :] if path.startswith(prefix) else ""
            field, _, sub = rest.partition(".")
            if field not in {f.name for f in RoutingRule._meta.fields}:
                field, sub = "__all__", rest
            errors.setdefault(field, []).extend(
                f"{sub}: {message}" if sub else message for message in messages
            )
        return errors
    return {}
