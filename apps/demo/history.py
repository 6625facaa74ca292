"""The demo's 90 days of history, played through the real services at the simulated moment.

Leads are routed by the routing service in `created_at` order, as of their own creation time;
first contacts, conversions, disqualifications and a manager's hand-over go through the lead
services at the moment they happen, so rotations, load counters, assignments and traces are
exactly what production would have recorded. The SLA ladder runs too: when a lead's owner would
not touch it by its deadline, the real sweep runs at the next minute tick after that deadline (as
the beat schedule does), moves or escalates it, and its new owner answers in turn. So the history
is consistent with the ladder and the portal's first live sweep finds no backlog to move.
"""

from __future__ import annotations

import heapq
import math
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apps.demo import data
from apps.demo.leads import FRESH_MINUTES
from apps.demo.organisation import Organisation, Window, rep_windows
from apps.leads.models import Lead, LeadStatus
from apps.reps.models import Rep
from apps.routing.models import Assignment, AssignmentKind
from apps.routing.selectors import config_cache_clear
from apps.routing.services import (
    lead_contact,
    lead_convert,
    lead_disqualify,
    lead_reassign,
    lead_route,
)
from apps.routing.sla import sla_sweep

NEVER_CONTACTED_SHARE = 0.03
#: Of the leads a rep would answer late, the share the SLA reminder saves: the rep answers in the
#: last minutes before the deadline instead. The rest are moved by the sweep (about 5% of leads).
REMINDER_WORKS_SHARE = 0.85
CLOSE_SHARE = 0.66


@dataclass
class RepSim:
    """What the simulation knows about a rep: how fast they answer and how well they close."""

    rep: Rep
    zone: ZoneInfo
    windows: list[Window]
    speed_minutes: float
    win_rate: float


@dataclass(order=True)
class Event:
    at: datetime
    seq: int
    kind: str = field(compare=False)
    lead_id: int = field(compare=False)
    #: the owner the event was planned for (a lead moved since is no longer theirs to touch)
    rep_id: int | None = field(default=None, compare=False)


def next_working_moment(at: datetime, sim: RepSim) -> datetime:
    """`at` if the rep works then, else the start of their next working window."""
    local = at.astimezone(sim.zone)
    best: datetime | None = None
    for offset in range(-1, 8):
        day: date = local.date() + timedelta(days=offset)
        for weekdays, start, end in sim.windows:
            if day.weekday() not in weekdays:
                continue
            begins = datetime.combine(day, start, tzinfo=sim.zone)
            ends = datetime.combine(
                day + timedelta(days=1 if end <= start else 0), end, tzinfo=sim.zone
            )
            if begins <= local < ends:
                return at
            if begins > local and (best is None or begins < best):
                best = begins
    return best.astimezone(at.tzinfo) if best is not None else at


def rep_sims(reps: dict[str, Rep]) -> dict[str, RepSim]:
    """The simulated behaviour of each demo rep, from its row of `data.REPS`."""
    sims = {}
    for row in data.REPS:
        rep = reps[row["username"]]
        sims[row["username"]] = RepSim(
            rep=rep,
            zone=ZoneInfo(rep.time_zone),
            windows=rep_windows(row),
            speed_minutes=float(row["speed"]),
            win_rate=float(row["win"]),
        )
    return sims


def history_play(
    *,
    leads: list[Lead],
    organisation: Organisation,
    rng: random.Random,
    now: datetime,
    progress: Callable[[str], Any],
) -> Counter[str]:
    """Route every lead as of its creation and play its history in time order, up to `now`.

    Returns the routing outcomes; `progress` is told every 500 leads routed.
    """
    return _History(organisation=organisation, rng=rng, now=now).play(leads, progress)


class _History:
    """The event queue of one simulation and the state it plays against."""

    def __init__(self, *, organisation: Organisation, rng: random.Random, now: datetime) -> None:
        self.rng = rng
        self.now = now
        self.manager = organisation.manager
        self.reps = rep_sims(organisation.reps)
        self.by_rep_id = {sim.rep.pk: sim for sim in self.reps.values()}
        self.events: list[Event] = []
        self.seq = 0
        self.sweeps_planned: set[datetime] = set()
        self.sweeps = 0

    def play(self, leads: list[Lead], progress: Callable[[str], Any]) -> Counter[str]:
        outcomes: Counter[str] = Counter()
        handover_at = self.now - timedelta(days=data.REP_INACTIVE_SINCE_DAYS)
        handed_over = False
        current_day = None
        total = len(leads)
        for i, lead in enumerate(leads, start=1):
            self._play_until(lead.created_at)
            if not handed_over and lead.created_at >= handover_at:
                self._play_until(handover_at)
                self._rep_leaves(data.REP_INACTIVE, at=handover_at)
                handed_over = True
            if lead.created_at.date() != current_day:
                # Performance-weighted routing caches conversion rates: refresh them daily.
                config_cache_clear()
                current_day = lead.created_at.date()
            result = lead_route(lead_id=lead.pk, now=lead.created_at)
            outcomes[result.outcome] += 1
            if result.outcome == "assigned" and result.lead.owner_id is not None:
                self._plan_contact(result.lead, result.lead.owner_id)
            if i % 500 == 0 or i == total:
                progress(f"seed_demo:   routed {i}/{total}")
        if not handed_over:
            self._rep_leaves(data.REP_INACTIVE, at=handover_at)
        self._play_until(self.now)
        outcomes["sla_sweeps"] = self.sweeps
        away = self.reps[data.REP_AWAY].rep
        away.away = True
        away.save(update_fields=["away", "updated_at"])  # not the stale load counters
        return outcomes

    def _schedule(self, at: datetime, kind: str, lead_id: int, rep_id: int | None = None) -> None:
        if at <= self.now:
            self.seq += 1
            heapq.heappush(
                self.events, Event(at=at, seq=self.seq, kind=kind, lead_id=lead_id, rep_id=rep_id)
            )

    def _plan_contact(self, lead: Lead, rep_id: int) -> None:
        """When the new owner will first touch the lead (if ever), from when it became theirs;
        and, if that is after its SLA deadline, the sweep that will move it first."""
        rng = self.rng
        sim = self.by_rep_id[rep_id]
        since = lead.assigned_at or lead.created_at
        contact_at: datetime | None = None
        if lead.created_at > self.now - timedelta(minutes=max(FRESH_MINUTES)):
            return  # just arrived: still waiting in the owner's queue (within any demo SLA)
        if rng.random() >= NEVER_CONTACTED_SHARE:
            minutes = sim.speed_minutes * math.exp(rng.gauss(0, 0.9))
            if rng.random() < 0.05:
                minutes *= rng.uniform(5, 30)  # the long tail: a lead forgotten for a while
            contact_at = next_working_moment(since + timedelta(minutes=minutes), sim)
            due = lead.sla_due_at
            if due is not None and contact_at > due and rng.random() < REMINDER_WORKS_SHARE:
                contact_at = max(since, due - timedelta(minutes=rng.uniform(1, 10)))
            contact_at = contact_at.replace(microsecond=0)
            self._schedule(contact_at, "contact", lead.pk, rep_id)
        due = lead.sla_due_at
        if due is not None and (contact_at is None or contact_at > due):
            tick = due.replace(second=0, microsecond=0) + timedelta(minutes=1)
            if tick not in self.sweeps_planned:
                self.sweeps_planned.add(tick)
                self._schedule(tick, "sweep", lead.pk)

    def _sweep(self, at: datetime) -> None:
        """The beat's minute sweep at ``at``; whoever received a lead from it answers in turn."""
        self.sweeps += 1
        sla_sweep(now=at)
        moved = Assignment.objects.filter(
            assigned_at=at,
            kind__in=[AssignmentKind.REASSIGN_INACTIVITY, AssignmentKind.REASSIGN_UNAVAILABLE],
        ).values_list("lead_id", "rep_id")
        for lead_id, rep_id in moved:
            if rep_id in self.by_rep_id:
                self._plan_contact(Lead.objects.get(pk=lead_id), rep_id)

    def _play_until(self, moment: datetime) -> None:
        while self.events and self.events[0].at <= moment:
            event = heapq.heappop(self.events)
            if event.kind == "sweep":
                self._sweep(event.at)
                continue
            lead = Lead.objects.only("status", "owner_id").get(pk=event.lead_id)
            if lead.owner_id is None or lead.owner_id != (event.rep_id or lead.owner_id):
                continue  # moved to someone else since: not this rep's to touch any more
            sim = self.by_rep_id[lead.owner_id]
            actor = sim.rep.user
            if event.kind == "contact" and lead.status == LeadStatus.ASSIGNED:
                lead_contact(lead_id=lead.pk, at=event.at, actor=actor)
                if self.rng.random() < CLOSE_SHARE:
                    hours = 24 * 4 * math.exp(self.rng.gauss(0, 0.8))
                    close_at = next_working_moment(event.at + timedelta(hours=hours), sim)
                    self._schedule(close_at.replace(microsecond=0), "close", lead.pk)
            elif event.kind == "close" and lead.status == LeadStatus.CONTACTED:
                if self.rng.random() < sim.win_rate:
                    lead_convert(
                        lead_id=lead.pk,
                        at=event.at,
                        actor=actor,
                        reason=self.rng.choice(data.CONVERT_REASONS),
                    )
                else:
                    lead_disqualify(
                        lead_id=lead.pk,
                        at=event.at,
                        actor=actor,
                        reason=self.rng.choice(data.DISQUALIFY_REASONS),
                    )

    def _rep_leaves(self, username: str, *, at: datetime) -> None:
        """The rep leaves the team: deactivated, and a manager hands over their open leads."""
        rep = self.reps[username].rep
        rep.active = False
        rep.save(update_fields=["active", "updated_at"])  # not the stale load counters
        peers = [
            sim.rep
            for sim in self.reps.values()
            if sim.rep.pk != rep.pk and set(sim.rep.territories.all()) & set(rep.territories.all())
        ] or [sim.rep for sim in self.reps.values() if sim.rep.pk != rep.pk][:1]
        open_leads = Lead.objects.filter(
            owner=rep, status__in=[LeadStatus.ASSIGNED, LeadStatus.CONTACTED]
        ).order_by("created_at")
        for k, lead_id in enumerate(open_leads.values_list("pk", flat=True)):
            lead_reassign(
                lead_id=lead_id,
                rep=peers[k % len(peers)],
                actor=self.manager,
                now=at,
                note=f"{rep.name} left the team; handing over open leads.",
            )
