"""Small builders for engine tests: a config in a few lines, ids and names by convention."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from typing import Any

from apps.engine import (
    CompiledConfig,
    ConfigSnapshot,
    Decision,
    LeadFacts,
    RepLoad,
    RepProfile,
    RotationState,
    RuleDef,
    TerritoryDef,
    WorkingWindow,
    compile_config,
    decide,
)

UTC = datetime.UTC
#: Wednesday 2026-03-04 15:30 UTC
NOW = datetime.datetime(2026, 3, 4, 15, 30, tzinfo=UTC)

TREE = (
    TerritoryDef(code="WORLD", name="World"),
    TerritoryDef(code="AMER", name="Americas", parent="WORLD", countries=frozenset({"US", "CA"})),
    TerritoryDef(
        code="US-WEST", name="US West", parent="AMER", regions=frozenset({"US-CA", "US-WA"})
    ),
    TerritoryDef(code="US-EAST", name="US East", parent="AMER", regions=frozenset({"US-NY"})),
    TerritoryDef(code="SF", name="SF Bay", parent="US-WEST", postal_prefixes=("941", "940")),
    TerritoryDef(code="EMEA", name="EMEA", parent="WORLD", countries=frozenset({"DE", "FR", "GB"})),
    TerritoryDef(code="DACH", name="DACH", parent="EMEA", countries=frozenset({"DE"})),
    TerritoryDef(code="MUNICH", name="Munich", parent="DACH", postal_prefixes=("80",)),
    TerritoryDef(code="APAC", name="APAC", parent="WORLD", countries=frozenset({"JP"})),
)


def rep(rep_id: int, *, territories: Iterable[str] = ("US-WEST",), **kw: Any) -> RepProfile:
    kw.setdefault("username", f"rep{rep_id}")
    return RepProfile(rep_id=rep_id, territories=frozenset(territories), **kw)


def rule(rule_id: int, **kw: Any) -> RuleDef:
    kw.setdefault("name", f"Rule {rule_id}")
    kw.setdefault("position", rule_id)
    if kw.get("strategy", "round_robin") != "account_owner":
        kw.setdefault("target", {"territory": "US-WEST"})
    return RuleDef(rule_id=rule_id, **kw)


def config(
    *,
    reps: Iterable[RepProfile] = (),
    rules: Iterable[RuleDef] = (),
    territories: Iterable[TerritoryDef] = TREE,
    accounts: Mapping[str, int] | None = None,
) -> CompiledConfig:
    return compile_config(
        ConfigSnapshot(
            version=1,
            territories=tuple(territories),
            reps=tuple(reps),
            accounts=dict(accounts or {}),
            rules=tuple(rules),
        )
    )


def lead(**fields: Any) -> LeadFacts:
    fields.setdefault("email", "pat@example.com")
    return LeadFacts(lead_id=1, fields=fields)


def load(rep_id: int, **kw: Any) -> RepLoad:
    return RepLoad(rep_id=rep_id, **kw)


def run(
    compiled: CompiledConfig,
    the_lead: LeadFacts | None = None,
    *,
    loads: Iterable[RepLoad] = (),
    rotations: Mapping[int, RotationState] | None = None,
    now: datetime.datetime = NOW,
    **kw: Any,
) -> Decision:
    return decide(
        compiled,
        the_lead if the_lead is not None else lead(country="US", region="US-CA"),
        loads={x.rep_id: x for x in loads},
        rotations=rotations or {},
        now=now,
        **kw,
    )


def hours(days: Iterable[int], start: str, end: str) -> WorkingWindow:
    return WorkingWindow(
        weekdays=frozenset(days),
        start=datetime.time.fromisoformat(start),
        end=datetime.time.fromisoformat(end),
    )


def candidates(decision: Decision, rule_index: int = -1) -> dict[str, tuple[bool, str]]:
    entry = decision.trace["rules"][rule_index]
    return {c["rep"]: (c["eligible"], c["why"]) for c in entry["candidates"]}
