"""A configuration document that is not applied (a draft) as the engine would run it.

The draft is validated exactly as an import would be (:func:`document_validate`), then turned
into a :class:`ConfigSnapshot` whose reps and rules carry their live ids where they exist (a rep
by username, a rule by key, else by name), so a backtest compares like with like; reps and rules
the draft adds get negative ids, which no live row has. Nothing is written.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from apps.engine import (
    ConfigSnapshot,
    RepProfile,
    RuleDef,
    TerritoryDef,
    TimeOffPeriod,
    WorkingWindow,
)
from apps.reps.models import Rep
from apps.rules.models import NoOneEligible, RoutingRule, Strategy

from .document import ValidDocument, document_validate
from .export import config_version_number

__all__ = ["DraftConfig", "draft_config_build"]


@dataclass(frozen=True)
class DraftConfig:
    """A validated draft as the engine sees it, and how its items map to live rows."""

    snapshot: ConfigSnapshot
    #: username -> rep id (live, or negative for a rep the draft adds)
    rep_ids: dict[str, int]
    #: rep ids the draft adds (no live row)
    new_rep_ids: frozenset[int]
    #: live rep id -> the draft's ``active`` for it
    draft_active: dict[int, bool]
    #: rule ids the draft adds (no live row)
    new_rule_ids: frozenset[int]


def _rule_def(item: dict[str, Any], *, rule_id: int, position: int) -> RuleDef:
    target = item.get("target")
    return RuleDef(
        rule_id=rule_id,
        name=item["name"],
        position=position,
        active=item.get("active", True),
        conditions=item.get("conditions", []),
        target=target,
        strategy=item.get(
            "strategy", Strategy.ACCOUNT_OWNER if target is None else Strategy.ROUND_ROBIN
        ),
        sla_minutes=item.get("sla_minutes"),
        respect_working_hours=item.get("respect_working_hours", False),
        require_skill_from=item.get("require_skill_from"),
        require_language=item.get("require_language", False),
        when_no_one_eligible=item.get("when_no_one_eligible", NoOneEligible.NEXT_RULE),
        sla_business_hours=item.get("sla_business_hours"),
    )


def _rep_profile(item: dict[str, Any], rep_id: int) -> RepProfile:
    utc = datetime.UTC
    return RepProfile(
        rep_id=rep_id,
        username=item["username"],
        time_zone=item.get("time_zone", "UTC"),
        active=item.get("active", True),
        territories=frozenset(item.get("territories", [])),
        weight=item.get("weight", 1),
        max_open_leads=item.get("max_open_leads"),
        max_daily_leads=item.get("max_daily_leads"),
        skills=frozenset(item.get("skills", [])),
        languages=frozenset(item.get("languages", [])),
        working_hours=tuple(
            WorkingWindow(weekdays=frozenset(w["weekdays"]), start=w["start"], end=w["end"])
            for w in item.get("working_hours", [])
        ),
        time_off=tuple(
            TimeOffPeriod(
                starts_at=t["starts_at"].astimezone(utc),
                ends_at=t["ends_at"].astimezone(utc),
                reason=t.get("reason", ""),
            )
            for t in item.get("time_off", [])
        ),
    )


def draft_snapshot(valid: ValidDocument) -> DraftConfig:
    """The snapshot of a validated document, with live ids (3 queries)."""
    usernames = [r["username"] for r in valid.reps]
    live_reps = dict(
        Rep.objects.filter(user__username__in=usernames).values_list("user__username", "id")
    )
    rep_ids: dict[str, int] = {}
    new_reps: set[int] = set()
    for k, username in enumerate(usernames):
        rep_id = live_reps.get(username)
        if rep_id is None:
            rep_id = -(k + 1)
            new_reps.add(rep_id)
        rep_ids[username] = rep_id
    rules = list(RoutingRule.objects.values_list("id", "key", "name"))
    by_key = {key: pk for pk, key, _ in rules if key}
    by_name = {name: pk for pk, _, name in rules}
    rule_defs = []
    new_rules: set[int] = set()
    used: set[int] = set()
    for k, item in enumerate(valid.rules):
        rule_id = by_key.get(item.get("key") or "") or by_name.get(item["name"])
        if rule_id is None or rule_id in used:
            rule_id = -(k + 1)
            new_rules.add(rule_id)
        used.add(rule_id)
        rule_defs.append(_rule_def(item, rule_id=rule_id, position=k))
    snapshot = ConfigSnapshot(
        version=config_version_number(),
        territories=tuple(
            TerritoryDef(
                code=t["code"],
                name=t.get("name", ""),
                parent=t.get("parent"),
                countries=frozenset(t.get("countries", [])),
                regions=frozenset(t.get("regions", [])),
                postal_prefixes=tuple(t.get("postal_prefixes", [])),
            )
            for t in valid.territories
        ),
        reps=tuple(_rep_profile(item, rep_ids[item["username"]]) for item in valid.reps),
        accounts={
            a["domain"]: rep_ids[a["owner"]] for a in valid.accounts if a.get("owner") is not None
        },
        rules=tuple(rule_defs),
    )
    return DraftConfig(
        snapshot=snapshot,
        rep_ids=rep_ids,
        new_rep_ids=frozenset(new_reps),
        draft_active={
            rep_ids[r["username"]]: r.get("active", True)
            for r in valid.reps
            if r["username"] in live_reps
        },
        new_rule_ids=frozenset(new_rules),
    )


def draft_config_build(*, document: Any) -> DraftConfig:
    """Validate ``document`` as an import would (raises ConfigValidationError with every error
    by path) and build its snapshot. Writes nothing."""
    return draft_snapshot(document_validate(document))
