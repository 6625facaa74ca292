"""A backtest worked out by hand, shared by the service, command and API tests.

Live: reps ann, bob, cid (ids in that order); routing round-robined seven March leads over ann
and bob (ann, bob, ann, bob, ann, bob, ann). The draft sends Germany (DE) to cid and US/FR leads
round robin to ann and bob; nothing matches JP.

    lead  country  before  after
    1     US       ann     ann
    2     DE       bob     cid    changed
    3     US       ann     bob    changed (the draft's rotation: ann, then bob)
    4     DE       bob     cid    changed
    5     FR       ann     ann
    6     US       bob     bob
    7     JP       ann     -      changed, unrouted: no rule matched

Before ann 4, bob 3, cid 0; after 2, 2, 2 and one unrouted. Gini over (ann, bob, cid):
before [4, 3, 0]: sum over ordered pairs |xi - xj| = 2 * (1 + 4 + 3) = 16, over 2 * 3^2 * 7/3
= 42, so 16/42 = 0.381; after [2, 2, 2]: 0.
"""

from __future__ import annotations

import datetime
from typing import Any

from apps.leads.models import Lead, LeadStatus
from apps.reps.models import Rep
from apps.routing.models import Assignment, AssignmentKind
from tests.factories import LeadFactory, RepFactory, RuleFactory, UserFactory

UTC = datetime.UTC
START = datetime.date(2026, 3, 1)
END = datetime.date(2026, 3, 31)
COUNTRIES = ["US", "DE", "US", "DE", "FR", "US", "JP"]


def at(day: int, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def reps_create(**caps: Any) -> dict[str, Rep]:
    """ann, bob and cid, in id order; their change history backdated to before the window."""
    reps = {
        name: RepFactory(user=UserFactory(username=name), **caps.get(name, {}))
        for name in ("ann", "bob", "cid")
    }
    Rep.history.filter(id__in=[r.pk for r in reps.values()]).update(
        history_date=datetime.datetime(2026, 1, 1, tzinfo=UTC)
    )
    return reps


def lead_routed(
    rep: Rep | None, *, created_at: datetime.datetime, country: str, **fields: Any
) -> Lead:
    """A lead as routing left it: assigned to ``rep`` by rule "Round robin" (or unrouted)."""
    lead = LeadFactory(
        country=country,
        created_at=created_at,
        status=LeadStatus.ASSIGNED if rep else LeadStatus.UNROUTED,
        owner=rep,
        assigned_at=created_at if rep else None,
        **fields,
    )
    if rep is not None:
        Assignment.objects.create(
            lead=lead,
            rep=rep,
            rule_name="Round robin",
            strategy="round_robin",
            kind=AssignmentKind.AUTO,
            reason="Round robin: round robin among 2 reps listed in the rule",
            trace={
                "rules": [
                    {"rule": "Round robin", "matched": True, "detail": "no conditions"},
                ],
                "outcome": "assigned",
                "reason": "Round robin: round robin among 2 reps listed in the rule",
            },
            assigned_at=created_at,
        )
    return lead


def scenario() -> dict[str, Any]:
    """The live data of the module docstring: reps and the seven routed leads."""
    reps = reps_create()
    owners = [reps["ann"], reps["bob"]] * 4
    leads = [
        lead_routed(owners[i], created_at=at(2 + i, 10), country=country)
        for i, country in enumerate(COUNTRIES)
    ]
    # The live rule that routed them: replayed the same way, it reproduces every owner.
    RuleFactory(
        name="Round robin",
        target={"reps": [{"username": "ann"}, {"username": "bob"}]},
        strategy="round_robin",
    )
    return {"reps": reps, "leads": leads}


def rep_item(username: str, **extra: Any) -> dict[str, Any]:
    return {"username": username, "name": username.title(), **extra}


def draft_document(**rep_extra: Any) -> dict[str, Any]:
    """The draft of the module docstring."""
    return {
        "version": 1,
        "territories": [],
        "reps": [rep_item(name, **rep_extra.get(name, {})) for name in ("ann", "bob", "cid")],
        "accounts": [],
        "rules": [
            {
                "name": "Germany",
                "conditions": [{"field": "country", "op": "eq", "value": "DE"}],
                "target": {"reps": [{"username": "cid"}]},
                "strategy": "round_robin",
            },
            {
                "name": "US and France",
                "conditions": [{"field": "country", "op": "in", "value": ["US", "FR"]}],
                "target": {"reps": [{"username": "ann"}, {"username": "bob"}]},
                "strategy": "round_robin",
            },
        ],
    }
