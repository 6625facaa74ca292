"""Backtest: replay a past window's leads through a draft configuration, writing nothing.

`routing_backtest` validates the draft as an import would, compiles it, reads the reps' state
when the window opened (open leads from assignment periods, today's count, last assignment,
conversion rates) and how their availability changed during it (away and active from the reps'
change history, time off), then streams the window's leads in creation order through the pure
engine (:class:`apps.engine.replay.Replay`). "Before" is what routing actually did: the rep of
each lead's first automatic assignment. The report (`apps.routing.backtest_report`) says what
could not be replayed exactly.
"""

from __future__ import annotations

import datetime
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import Count, Max, OuterRef, Q, Subquery

from apps.configuration.draft import DraftConfig, draft_config_build
from apps.configuration.snapshot import config_snapshot_build
from apps.engine import ConfigError, ConfigSnapshot, LeadFacts, TimeOffPeriod
from apps.engine.replay import Replay, ReplayLead, ReplayResult, RepStart, RepStatus
from apps.leads.models import Lead, LeadStatus
from apps.reps.models import Rep, TimeOff
from apps.routing.models import Assignment, AssignmentKind
from apps.routing.selectors import CONVERSION_WINDOW, LEAD_FACT_FIELDS

__all__ = [
    "BACKTEST_MAX_DAYS",
    "FIRST_ROUTING_KINDS",
    "BacktestRun",
    "Progress",
    "backtest_window",
    "routing_backtest",
]

#: The API runs a backtest in the request: windows up to a quarter (the command has no cap).
BACKTEST_MAX_DAYS = 92
#: Assignments that are routing's own first decision for a lead ("before" in the report).
FIRST_ROUTING_KINDS = (AssignmentKind.AUTO, AssignmentKind.RETRY, AssignmentKind.DUPLICATE)
#: Leads read per round trip; the progress callback runs once per chunk.
CHUNK = 2000

#: (leads replayed so far, leads in the window)
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class BacktestRun:
    """What a backtest found, and what the report needs to name and explain it."""

    start: datetime.date
    end: datetime.date
    start_at: datetime.datetime
    end_at: datetime.datetime
    draft: DraftConfig
    result: ReplayResult
    #: rep id -> username (live reps, and those the draft adds)
    usernames: dict[int, str]
    approximations: list[str]
    seconds: float
    #: leads whose owner differs between what happened and the live configuration replayed the
    #: same way: how much of ``changed`` the replay's approximations alone account for
    baseline_changed: int | None = None


def backtest_window(
    start: datetime.date, end: datetime.date
) -> tuple[datetime.datetime, datetime.datetime]:
    """Whole UTC days, ``end`` inclusive: [start 00:00, end + 1 day 00:00)."""
    utc = datetime.UTC
    return (
        datetime.datetime.combine(start, datetime.time(0), tzinfo=utc),
        datetime.datetime.combine(end + datetime.timedelta(days=1), datetime.time(0), tzinfo=utc),
    )


@contextmanager
def _read_only() -> Iterator[None]:
    """One consistent, read-only snapshot on PostgreSQL when we own the transaction: a write
    anywhere below would fail instead of happening."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


# --- the reps when the window opened -----------------------------------------------------------


def _starts(
    snapshot: ConfigSnapshot, start_at: datetime.datetime, end_at: datetime.datetime
) -> tuple[dict[int, RepStart], list[tuple[datetime.datetime, int]]]:
    """Each rep's load at ``start_at`` and the moments its open leads stopped counting (4 queries)."""
    open_count: dict[int, int] = defaultdict(int)
    releases: list[tuple[datetime.datetime, int]] = []
    held = (
        Assignment.objects.filter(assigned_at__lt=start_at)
        .exclude(kind=AssignmentKind.DUPLICATE)  # a duplicate never counts against its owner
        .filter(Q(ended_at__isnull=True) | Q(ended_at__gt=start_at))
        .filter(Q(lead__closed_at__isnull=True) | Q(lead__closed_at__gt=start_at))
        .values_list("rep_id", "ended_at", "lead__closed_at")
    )
    for rep_id, ended_at, closed_at in held.iterator(chunk_size=CHUNK):
        open_count[rep_id] += 1
        stops = [t for t in (ended_at, closed_at) if t is not None]
        if stops and min(stops) < end_at:
            releases.append((min(stops), rep_id))
    zones = {rep.rep_id: ZoneInfo(rep.time_zone) for rep in snapshot.reps}
    today: dict[int, int] = defaultdict(int)
    earlier = (
        Assignment.objects.filter(
            assigned_at__gte=start_at - datetime.timedelta(days=1), assigned_at__lt=start_at
        )
        .exclude(kind=AssignmentKind.DUPLICATE)
        .values_list("rep_id", "assigned_at")
    )
    for rep_id, at in earlier:
        zone = zones.get(rep_id)
        if zone is not None and at.astimezone(zone).date() == start_at.astimezone(zone).date():
            today[rep_id] += 1
    last = dict(
        Assignment.objects.filter(assigned_at__lt=start_at)
        .values("rep_id")
        .annotate(last=Max("assigned_at"))
        .values_list("rep_id", "last")
    )
    rates = _conversion_rates(start_at)
    ids = set(open_count) | set(today) | set(last) | set(rates)
    starts = {
        rep_id: RepStart(
            rep_id=rep_id,
            open_leads=open_count.get(rep_id, 0),
            leads_today=today.get(rep_id, 0),
            last_assigned_at=last.get(rep_id),
            conversion_rate_90d=rates.get(rep_id),
        )
        for rep_id in ids
    }
    return starts, releases


def _conversion_rates(at: datetime.datetime) -> dict[int, float]:
    """Conversion rate per rep over the 90 days before ``at`` (routing's definition)."""
    rows = (
        Lead.objects.filter(
            owner__isnull=False,
            created_at__gte=at - CONVERSION_WINDOW,
            created_at__lt=at,
            status__in=[LeadStatus.CONVERTED, LeadStatus.DISQUALIFIED],
        )
        .values("owner")
        .annotate(closed=Count("id"), won=Count("id", filter=Q(status=LeadStatus.CONVERTED)))
    )
    return {row["owner"]: row["won"] / row["closed"] for row in rows if row["closed"]}


def _statuses(
    draft: DraftConfig, start_at: datetime.datetime, end_at: datetime.datetime
) -> tuple[list[RepStatus], int, int]:
    """Away and active at the start and each change in the window, from the reps' history.

    ``active`` is replayed only where the draft keeps the rep's live value; a draft that
    (de)activates a rep holds for the whole window. Returns the statuses, how many reps' history
    begins after the window opens, and how many reps the draft (de)activates.
    """
    live_active = dict(Rep.objects.values_list("id", "active"))
    replayed = {
        rep_id for rep_id, active in draft.draft_active.items() if live_active.get(rep_id) == active
    }
    overridden = len(draft.draft_active) - len(replayed)
    rows = (
        Rep.history.filter(id__in=list(draft.draft_active), history_date__lt=end_at)
        .order_by("id", "history_date", "history_id")
        .values_list("id", "history_date", "active", "away")
    )
    by_rep: dict[int, list[tuple[datetime.datetime, bool, bool]]] = defaultdict(list)
    for rep_id, at, active, away in rows.iterator(chunk_size=CHUNK):
        by_rep[rep_id].append((at, active, away))
    statuses: list[RepStatus] = []
    late = 0
    for rep_id, history in by_rep.items():
        keep = rep_id in replayed
        before = [h for h in history if h[0] <= start_at]
        if not before:
            late += 1
        _, active, away = before[-1] if before else history[0]
        statuses.append(
            RepStatus(rep_id=rep_id, at=start_at, active=active if keep else None, away=away)
        )
        for at, new_active, new_away in history:
            if at <= start_at or (new_active == active and new_away == away):
                continue
            if not keep and new_away == away:
                continue
            active, away = new_active, new_away
            statuses.append(
                RepStatus(rep_id=rep_id, at=at, active=active if keep else None, away=away)
            )
    return statuses, late, overridden


def _with_time_off(
    snapshot: ConfigSnapshot, start_at: datetime.datetime, end_at: datetime.datetime
) -> ConfigSnapshot:
    """The draft's reps with every recorded time off overlapping the window added (1 query)."""
    periods: dict[int, list[TimeOffPeriod]] = defaultdict(list)
    rows = TimeOff.objects.filter(
        rep_id__in=[r.rep_id for r in snapshot.reps if r.rep_id > 0],
        starts_at__lt=end_at,
        ends_at__gt=start_at,
    ).values_list("rep_id", "starts_at", "ends_at", "reason")
    for rep_id, starts_at, ends_at, reason in rows:
        periods[rep_id].append(TimeOffPeriod(starts_at=starts_at, ends_at=ends_at, reason=reason))
    reps = []
    for rep in snapshot.reps:
        extra = periods.get(rep.rep_id)
        if extra:
            known = {(p.starts_at, p.ends_at) for p in rep.time_off}
            added = tuple(p for p in extra if (p.starts_at, p.ends_at) not in known)
            rep = replace(rep, time_off=rep.time_off + added)
        reps.append(rep)
    return replace(snapshot, reps=tuple(reps))


# --- the leads ---------------------------------------------------------------------------------

_LEAD_COLUMNS = ("id", "created_at", "closed_at", "status", "owner_id", "duplicate_of_id")


def _lead_rows(
    start_at: datetime.datetime, end_at: datetime.datetime
) -> tuple[int, Iterator[tuple[Any, ...]]]:
    """How many leads the window holds, and their rows in creation order (streamed)."""
    window = Lead.objects.filter(created_at__gte=start_at, created_at__lt=end_at)
    first = (
        Assignment.objects.filter(lead=OuterRef("pk"), kind__in=FIRST_ROUTING_KINDS)
        .order_by("assigned_at", "id")
        .values("rep_id")[:1]
    )
    rows = (
        window.annotate(first_rep=Subquery(first))
        .order_by("created_at", "id")
        .values_list(*_LEAD_COLUMNS, "first_rep", "extra", *LEAD_FACT_FIELDS)
    )
    return window.count(), rows.iterator(chunk_size=CHUNK)


def _replay_lead(row: tuple[Any, ...]) -> ReplayLead:
    lead_id, created_at, closed_at, status, owner_id, duplicate_of, first_rep, extra = row[:8]
    fields: dict[str, object] = {
        name: value
        for name, value in zip(LEAD_FACT_FIELDS, row[8:], strict=True)
        if value not in ("", None)
    }
    fields["extra"] = extra or {}
    if first_rep is not None:
        unrouted = ""
    elif status == LeadStatus.DUPLICATE:
        unrouted = "duplicate_of_unrouted"
    elif owner_id is not None:
        unrouted = "assigned_by_hand"
    elif status == LeadStatus.NEW:
        unrouted = "not_routed_yet"
    else:
        unrouted = "unrouted"
    return ReplayLead(
        lead_id=lead_id,
        created_at=created_at,
        facts=LeadFacts(lead_id=lead_id, fields=fields),
        closed_at=closed_at,
        duplicate_of=duplicate_of if status == LeadStatus.DUPLICATE else None,
        actual_rep_id=first_rep,
        actual_unrouted=unrouted,
    )


# --- the service -------------------------------------------------------------------------------


def routing_backtest(
    *,
    document: Any,
    start: datetime.date,
    end: datetime.date,
    progress: Progress | None = None,
    sample_size: int = 20,
    baseline: bool = True,
) -> BacktestRun:
    """Replay the leads created from ``start`` to ``end`` (inclusive, UTC days) through the
    draft ``document``. Raises ConfigValidationError (every error by path) for an invalid
    draft and ValueError for an empty window. ``baseline`` also replays the live configuration
    the same way, to tell the draft's effect from the replay's approximations. Writes nothing."""
    if end < start:
        raise ValueError("end must be on or after start")
    began = time.monotonic()
    start_at, end_at = backtest_window(start, end)
    with _read_only():
        draft = draft_config_build(document=document)
        snapshot = _with_time_off(draft.snapshot, start_at, end_at)
        starts, releases = _starts(snapshot, start_at, end_at)
        statuses, late, overridden = _statuses(draft, start_at, end_at)
        replay = Replay(
            snapshot,
            start=start_at,
            starts=starts,
            statuses=statuses,
            releases=releases,
            sample_size=sample_size,
        )
        live = _live_replay(start_at, end_at) if baseline else None
        total, rows = _lead_rows(start_at, end_at)
        done = 0
        for row in rows:
            lead = _replay_lead(row)
            replay.feed(lead)
            if live is not None:
                live.feed(lead)
            done += 1
            if progress is not None and done % 250 == 0:
                progress(done, total)
        if progress is not None:
            progress(done, total)
        result = replay.result()
        ids = set(result.before) | set(result.after) | {r.rep_id for r in snapshot.reps}
        usernames = dict(
            Rep.objects.filter(pk__in=[i for i in ids if i > 0]).values_list("id", "user__username")
        )
    usernames.update({rep_id: name for name, rep_id in draft.rep_ids.items()})
    return BacktestRun(
        start=start,
        end=end,
        start_at=start_at,
        end_at=end_at,
        draft=draft,
        result=result,
        usernames=usernames,
        approximations=_approximations(draft, late=late, overridden=overridden),
        seconds=time.monotonic() - began,
        baseline_changed=live.result().changed if live is not None else None,
    )


def _live_replay(start_at: datetime.datetime, end_at: datetime.datetime) -> Replay | None:
    """The live configuration, set up to replay the window exactly as the draft is (None when
    it does not compile: there is no baseline then)."""
    snapshot = config_snapshot_build()
    live = DraftConfig(
        snapshot=snapshot,
        rep_ids={rep.username: rep.rep_id for rep in snapshot.reps},
        new_rep_ids=frozenset(),
        draft_active={rep.rep_id: rep.active for rep in snapshot.reps},
        new_rule_ids=frozenset(),
    )
    starts, releases = _starts(snapshot, start_at, end_at)
    statuses, _, _ = _statuses(live, start_at, end_at)
    try:
        return Replay(
            snapshot,
            start=start_at,
            starts=starts,
            statuses=statuses,
            releases=releases,
            sample_size=0,
        )
    except ConfigError:
        return None


def _approximations(draft: DraftConfig, *, late: int, overridden: int) -> list[str]:
    notes = [
        "Rotation cursors start fresh when the window opens (past cursors are not recorded).",
        "Working hours are the draft's weekly hours (the reps' current ones unless the draft "
        "changes them), not those in force at each lead's time.",
        "Time off is every recorded period (and the draft's); periods deleted since are unknown.",
        "A lead counts against its owner until it actually closed; reassignments after the "
        "first routing (inactivity sweeps, manual moves) are not replayed.",
        "Duplicates follow their original's owner, as at intake; duplicate detection itself is "
        "not replayed.",
        "Conversion rates (performance_weighted) are those of the 90 days before the window, "
        "by the leads' current status.",
    ]
    if late:
        notes.append(
            f"{late} rep(s)' change history begins after the window opens: their first recorded "
            "away/active state is used before it."
        )
    if overridden:
        notes.append(
            f"{overridden} rep(s) the draft activates or deactivates are taken as the draft says "
            "for the whole window."
        )
    if draft.new_rep_ids:
        notes.append(f"{len(draft.new_rep_ids)} rep(s) the draft adds start with no load.")
    return notes
