"""Inputs and outputs of the routing engine: frozen dataclasses, ids only, no Django."""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CONDITION_OPS",
    "LEAD_FIELDS",
    "NUMERIC_FIELDS",
    "STRATEGIES",
    "WHEN_NO_ONE_ELIGIBLE",
    "ConfigSnapshot",
    "Decision",
    "LeadFacts",
    "RepLoad",
    "RepProfile",
    "RotationState",
    "RuleDef",
    "TerritoryDef",
    "TimeOffPeriod",
    "WorkingWindow",
]

#: Lead fields a condition may name (API.md "Leads"), plus derived ones. ``extra.<key>`` is also valid.
LEAD_FIELDS: frozenset[str] = frozenset(
    {
        "email",
        "external_id",
        "first_name",
        "last_name",
        "phone",
        "company",
        "title",
        "city",
        "country",
        "region",
        "postal_code",
        "industry",
        "lead_source",
        "product_interest",
        "company_size",
        "annual_revenue",
        "lead_score",
        "language",
        "created_at",
        "email_domain",
        "territory",
    }
)
#: Fields holding numbers: the only known fields ``gt``/``gte``/``lt``/``lte`` accept (besides ``extra.*``).
NUMERIC_FIELDS: frozenset[str] = frozenset({"company_size", "annual_revenue", "lead_score"})

CONDITION_OPS: frozenset[str] = frozenset(
    {
        "eq",
        "ne",
        "in",
        "not_in",
        "gt",
        "gte",
        "lt",
        "lte",
        "contains",
        "starts_with",
        "ends_with",
        "exists",
        "within",
    }
)
STRATEGIES: frozenset[str] = frozenset(
    {
        "round_robin",
        "weighted_round_robin",
        "load_balanced",
        "account_owner",
        "performance_weighted",
    }
)
WHEN_NO_ONE_ELIGIBLE: frozenset[str] = frozenset({"next_rule", "hold", "assign_anyway"})


@dataclass(frozen=True, slots=True, kw_only=True)
class TerritoryDef:
    """One node of the territory tree."""

    code: str
    name: str = ""
    parent: str | None = None
    countries: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()
    postal_prefixes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkingWindow:
    """Working hours on some weekdays (0=Monday), in the rep's time zone.

    ``end <= start`` means the window wraps past midnight into the next day; the weekday is the
    day the window starts (Fri 22:00-06:00 covers Friday night and early Saturday).
    """

    weekdays: frozenset[int]
    start: datetime.time
    end: datetime.time


@dataclass(frozen=True, slots=True, kw_only=True)
class TimeOffPeriod:
    """A rep is unavailable from ``starts_at`` (inclusive) to ``ends_at`` (exclusive)."""

    starts_at: datetime.datetime
    ends_at: datetime.datetime
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class RepProfile:
    """The static part of a rep, part of the configuration snapshot."""

    rep_id: int
    username: str
    time_zone: str = "UTC"
    active: bool = True
    territories: frozenset[str] = frozenset()
    weight: int = 1
    max_open_leads: int | None = None
    max_daily_leads: int | None = None
    skills: frozenset[str] = frozenset()
    languages: frozenset[str] = frozenset()
    working_hours: tuple[WorkingWindow, ...] = ()
    time_off: tuple[TimeOffPeriod, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class RepLoad:
    """The dynamic part of a rep, loaded per decision. A rep missing from ``loads`` has zero load."""

    rep_id: int
    away: bool = False
    open_leads: int = 0
    #: assignments since midnight in the rep's time zone, computed by the caller
    leads_today: int = 0
    last_assigned_at: datetime.datetime | None = None
    conversion_rate_90d: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleDef:
    """One routing rule as configured (raw JSON conditions and target, see API.md)."""

    rule_id: int
    name: str
    position: int
    active: bool = True
    conditions: Sequence[Any] = ()
    #: {"territory": CODE} | {"territory": "$lead"} | {"reps": [{"username", "weight"?}]} | None
    target: Mapping[str, Any] | None = None
    strategy: str = "round_robin"
    sla_minutes: int | None = None
    respect_working_hours: bool = False
    #: a lead field whose value must be among the rep's skills (case-insensitive)
    require_skill_from: str | None = None
    #: the rep must speak the lead's language, when the lead has one
    require_language: bool = False
    when_no_one_eligible: str = "next_rule"
    #: count the SLA clock in working hours only; None = the deployment's default (not routing)
    sla_business_hours: bool | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfigSnapshot:
    """The whole routing configuration at one version."""

    version: int
    territories: tuple[TerritoryDef, ...] = ()
    reps: tuple[RepProfile, ...] = ()
    #: email domain -> owner rep_id
    accounts: Mapping[str, int] = field(default_factory=dict)
    rules: tuple[RuleDef, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class LeadFacts:
    """Normalised lead fields (country "US", region "US-CA", company_size int, annual_revenue
    Decimal, ...; custom attributes as a dict under "extra").

    If ``fields`` holds a "territory" key it is used as the lead's territory; otherwise the engine
    computes it from country, region and postal_code.
    """

    lead_id: int | None
    fields: Mapping[str, object]


@dataclass(frozen=True, slots=True, kw_only=True)
class RotationState:
    """Per-rule rotation state, JSON-able; an empty ``data`` is a fresh rotation.

    ``data`` maps a pool key (territory code, "reps", ...) to that pool's state:
    ``{"last": rep_id}`` for round robin, ``{"cw": {"<rep_id>": int}}`` (smooth weighted round
    robin current weights) for weighted_round_robin and performance_weighted.
    """

    rule_id: int
    data: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    """What routing decided for one lead, with the trace that explains it."""

    outcome: str  # "assigned" | "unrouted"
    rep_id: int | None
    username: str | None
    rule_id: int | None
    rule_name: str | None
    strategy: str | None
    territory: str | None
    pool: str | None
    sla_minutes: int | None
    forced: bool
    hold: bool
    reason: str
    trace: dict[str, Any]
    new_rotation: RotationState | None
