"""Routing's services, one import away: the public names of the modules that hold them.

Where each behaviour lives (every module has one job):

| module                          | job                                                        |
|---------------------------------|------------------------------------------------------------|
| apps.routing.intake             | save a new lead, queue its routing (`lead_create`)         |
| apps.routing.route              | route, batch-route and reroute leads (`lead_route`...)     |
| apps.routing.planning           | the engine's plan for a batch on locked rows; simulation   |
| apps.routing.locking            | row locks in one global order (leads, rotations, reps)     |
| apps.routing.counters           | the one rule that moves reps' load counters                |
| apps.routing.writers            | the one place that picks PostgreSQL or ORM writers         |
| apps.routing.write_assignments  | assignment writers (one statement / ORM), `assignment_start`|
| apps.routing.write_pages        | sweep page writers (one statement / ORM)                   |
| apps.routing.write_counters     | counter writers (one statement / ORM)                      |
| apps.routing.reassign           | a manager's hand-over (`lead_reassign`)                    |
| apps.routing.lead_work          | contact, convert, disqualify a lead                        |
| apps.routing.sla_*              | the SLA ladder (see apps.routing.sla)                      |

Modules inside the routing app import each other directly, never this one.
"""

from __future__ import annotations

from apps.routing.intake import lead_create
from apps.routing.lead_work import (
    LeadMovedError,
    LeadStateError,
    lead_contact,
    lead_convert,
    lead_disqualify,
)
from apps.routing.planning import routing_explain, routing_simulate
from apps.routing.reassign import lead_reassign
from apps.routing.route import (
    RouteResult,
    RoutingError,
    lead_reroute,
    lead_route,
    leads_reroute,
    leads_route,
)
from apps.routing.write_assignments import assignment_start
from apps.routing.writers import rep_counters_release

__all__ = [
    "LeadMovedError",
    "LeadStateError",
    "RouteResult",
    "RoutingError",
    "assignment_start",
    "lead_contact",
    "lead_convert",
    "lead_create",
    "lead_disqualify",
    "lead_reassign",
    "lead_reroute",
    "lead_route",
    "leads_reroute",
    "leads_route",
    "rep_counters_release",
    "routing_explain",
    "routing_simulate",
]
