"""The SLA ladder, one import away: remind the owner, reassign for inactivity, move leads of
unavailable reps, escalate.

| module                     | job                                                            |
|----------------------------|----------------------------------------------------------------|
| apps.routing.sla_clock     | deadlines and reminder points, wall clock or working hours      |
| apps.routing.sla_decisions | what a page of locked leads becomes, decided in memory          |
| apps.routing.sla_pages     | one page, one transaction: lock, decide, write, owe the mail    |
| apps.routing.sla_sweep     | the sweep: every candidate page as of one moment                |

The ladder itself is described in apps.routing.sla_sweep. Modules inside the routing app import
each other directly, never this one.
"""

from __future__ import annotations

from apps.routing.sla_clock import rule_sla_business_hours, sla_deadline, sla_due_at
from apps.routing.sla_pages import (
    lead_escalate,
    lead_reassign_inactive,
    lead_reassign_unavailable,
    lead_remind,
    leads_reassign_inactive,
    leads_reassign_unavailable,
    leads_remind,
    rep_unavailability,
)
from apps.routing.sla_sweep import sla_sweep

__all__ = [
    "lead_escalate",
    "lead_reassign_inactive",
    "lead_reassign_unavailable",
    "lead_remind",
    "leads_reassign_inactive",
    "leads_reassign_unavailable",
    "leads_remind",
    "rep_unavailability",
    "rule_sla_business_hours",
    "sla_deadline",
    "sla_due_at",
    "sla_sweep",
]
