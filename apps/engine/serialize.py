"""A :class:`ConfigSnapshot` as JSON and back (routing keeps the last one that compiled)."""

from __future__ import annotations

import datetime
from typing import Any

from .types import ConfigSnapshot, RepProfile, RuleDef, TerritoryDef, TimeOffPeriod, WorkingWindow

__all__ = ["snapshot_from_json", "snapshot_to_json"]


def _window(window: WorkingWindow) -> dict[str, Any]:
    return {
        "weekdays": sorted(window.weekdays),
        "start": window.start.isoformat(),
        "end": window.end.isoformat(),
    }


def _period(period: TimeOffPeriod) -> dict[str, Any]:
    return {
        "starts_at": period.starts_at.isoformat(),
        "ends_at": period.ends_at.isoformat(),
        "reason": period.reason,
    }


def snapshot_to_json(snapshot: ConfigSnapshot) -> dict[str, Any]:
    """Plain JSON types only; :func:`snapshot_from_json` returns an equal snapshot."""
    return {
        "version": snapshot.version,
        "territories": [
            {
                "code": t.code,
                "name": t.name,
                "parent": t.parent,
                "countries": sorted(t.countries),
                "regions": sorted(t.regions),
                "postal_prefixes": list(t.postal_prefixes),
            }
            for t in snapshot.territories
        ],
        "reps": [
            {
                "rep_id": r.rep_id,
                "username": r.username,
                "time_zone": r.time_zone,
                "active": r.active,
                "territories": sorted(r.territories),
                "weight": r.weight,
                "max_open_leads": r.max_open_leads,
                "max_daily_leads": r.max_daily_leads,
                "skills": sorted(r.skills),
                "languages": sorted(r.languages),
                "working_hours": [_window(w) for w in r.working_hours],
                "time_off": [_period(p) for p in r.time_off],
            }
            for r in snapshot.reps
        ],
        "accounts": [[domain, owner] for domain, owner in snapshot.accounts.items()],
        "rules": [
            {
                "rule_id": r.rule_id,
                "name": r.name,
                "position": r.position,
                "active": r.active,
                "conditions": list(r.conditions),
                "target": dict(r.target) if r.target is not None else None,
                "strategy": r.strategy,
                "sla_minutes": r.sla_minutes,
                "respect_working_hours": r.respect_working_hours,
                "require_skill_from": r.require_skill_from,
                "require_language": r.require_language,
                "when_no_one_eligible": r.when_no_one_eligible,
                "sla_business_hours": r.sla_business_hours,
            }
            for r in snapshot.rules
        ],
    }


def snapshot_from_json(data: dict[str, Any]) -> ConfigSnapshot:
    """The snapshot :func:`snapshot_to_json` wrote."""
    time, moment = datetime.time.fromisoformat, datetime.datetime.fromisoformat
    return ConfigSnapshot(
        version=int(data["version"]),
        territories=tuple(
            TerritoryDef(
                code=t["code"],
                name=t["name"],
                parent=t["parent"],
                countries=frozenset(t["countries"]),
                regions=frozenset(t["regions"]),
                postal_prefixes=tuple(t["postal_prefixes"]),
            )
            for t in data["territories"]
        ),
        reps=tuple(
            RepProfile(
                rep_id=r["rep_id"],
                username=r["username"],
                time_zone=r["time_zone"],
                active=r["active"],
                territories=frozenset(r["territories"]),
                weight=r["weight"],
                max_open_leads=r["max_open_leads"],
                max_daily_leads=r["max_daily_leads"],
                skills=frozenset(r["skills"]),
                languages=frozenset(r["languages"]),
                working_hours=tuple(
                    WorkingWindow(
                        weekdays=frozenset(w["weekdays"]),
                        start=time(w["start"]),
                        end=time(w["end"]),
                    )
                    for w in r["working_hours"]
                ),
                time_off=tuple(
                    TimeOffPeriod(
                        starts_at=moment(p["starts_at"]),
                        ends_at=moment(p["ends_at"]),
                        reason=p["reason"],
                    )
                    for p in r["time_off"]
                ),
            )
            for r in data["reps"]
        ),
        accounts={domain: owner for domain, owner in data["accounts"]},
        rules=tuple(RuleDef(**r) for r in data["rules"]),
    )
