"""Read side of routing: ORM rows -> engine inputs, in a fixed small number of queries."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.db.models import Count, Q, QuerySet

from apps.accounts.models import Account
from apps.configuration.models import RoutingConfigVersion
from apps.configuration.snapshot import config_snapshot_build
from apps.engine import (
    LEAD_FIELDS,
    CompiledConfig,
    ConfigError,
    ConfigSnapshot,
    LeadFacts,
    RepLoad,
    RotationState,
    compile_config,
    snapshot_from_json,
)
from apps.leads.models import Lead, LeadStatus
from apps.reps.models import Rep, TimeOff, WorkingHours
from apps.routing.config_state import (
    config_state_broken,
    config_state_forget,
    config_state_good,
)
from apps.routing.models import Assignment, RoutingConfigState
from apps.routing.models import RotationState as RotationStateRow
from apps.rules.models import RoutingRule
from apps.territories.models import Territory

#: Lead fields handed to the engine: the ones its conditions may name; `extra` travels as a dict.
LEAD_FACT_FIELDS = tuple(sorted(LEAD_FIELDS - {"territory"}))  # territory is derived, not stored
#: Performance-weighted routing looks back this far.
CONVERSION_WINDOW = timedelta(days=90)
_RATES_TTL_SECONDS = 600


@dataclass(frozen=True)
class CurrentConfig:
    """The compiled configuration and the version it was compiled from."""

    compiled: CompiledConfig
    snapshot: ConfigSnapshot
    version_id: int | None
    version_number: int
    rep_ids_by_username: dict[str, int]
    territory_ids_by_code: dict[str, int]
    #: Set when the live configuration does not compile and this is the last one that did.
    broken_version_number: int | None = None
    broken_errors: dict[str, list[str]] | None = None


_cache_lock = threading.Lock()
#: `config`: what routing uses now; `good`: the last configuration this process compiled.
_cache: dict[str, Any] = {
    "key": None,
    "config": None,
    "good": None,
    "checked": 0.0,
    "version_id": None,
}
_rates_cache: dict[str, Any] = {"at": 0.0, "day": None, "rates": {}}


def _config_fingerprint() -> tuple[Any, ...]:
    """One query that changes whenever any configuration row is added, changed or removed."""
    tables = [
        (Territory._meta.db_table, "updated_at"),
        (Rep._meta.db_table, "updated_at"),
        (WorkingHours._meta.db_table, "updated_at"),
        (TimeOff._meta.db_table, "updated_at"),
        (Account._meta.db_table, "updated_at"),
        (RoutingRule._meta.db_table, "updated_at"),
    ]
    through = Rep.territories.through._meta.db_table
    parts = [f"(SELECT MAX(number) FROM {RoutingConfigVersion._meta.db_table})"]
    for table, column in tables:
        parts.append(f"(SELECT MAX({column}) FROM {table})")
        parts.append(f"(SELECT COUNT(*) FROM {table})")
    # Who is active matters most; catch it even from a bulk UPDATE that skips updated_at.
    rep_table = Rep._meta.db_table
    parts.append(f"(SELECT COALESCE(SUM(id), 0) FROM {rep_table} WHERE active)")
    parts.append(f"(SELECT COUNT(*) FROM {through})")
    parts.append(f"(SELECT COALESCE(SUM(id), 0) FROM {through})")
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts))
        row = cursor.fetchone()
    return (connection.settings_dict["NAME"], *row)


def config_version_latest() -> int | None:
    """The id of the newest configuration version: one lookup on the unique index on number."""
    with connection.cursor() as cursor:
        cursor.execute(VERSION_LATEST_SQL)
        row = cursor.fetchone()
    return row[0] if row else None


def _config_from(snapshot: ConfigSnapshot, compiled: CompiledConfig, **extra: Any) -> CurrentConfig:
    version = (
        RoutingConfigVersion.objects.filter(number=snapshot.version).values("id", "number").first()
    )
    return CurrentConfig(
        compiled=compiled,
        snapshot=snapshot,
        version_id=version["id"] if version else None,
        version_number=version["number"] if version else 0,
        rep_ids_by_username={r.username: r.rep_id for r in snapshot.reps},
        territory_ids_by_code=dict(Territory.objects.values_list("code", "id")),
        **extra,
    )


def _last_good_snapshot() -> ConfigSnapshot | None:
    """The last configuration that compiled: this process's, else the one routing persisted."""
    with _cache_lock:
        good = _cache["good"]
    if good is not None:
        return good.snapshot  # type: ignore[no-any-return]
    stored = (
        RoutingConfigState.objects.filter(pk=1, good_snapshot__isnull=False)
        .values_list("good_snapshot", flat=True)
        .first()
    )
    return snapshot_from_json(stored) if stored else None


def _config_fallback(*, live: ConfigSnapshot, errors: dict[str, list[str]]) -> CurrentConfig | None:
    """The last good configuration, as routing may use it now: reps and rules deleted since
    are made inactive (nobody may be handed a lead, or a cursor, that no longer exists)."""
    snapshot = _last_good_snapshot()
    if snapshot is None:
        return None
    live_reps = {rep.rep_id for rep in live.reps}
    live_rules = set(RoutingRule.objects.values_list("pk", flat=True))
    pruned = replace(
        snapshot,
        reps=tuple(r if r.rep_id in live_reps else replace(r, active=False) for r in snapshot.reps),
        rules=tuple(
            r if r.rule_id in live_rules else replace(r, active=False) for r in snapshot.rules
        ),
    )
    try:
        compiled = compile_config(pruned)
    except ConfigError:
        pruned, compiled = snapshot, compile_config(snapshot)
    return _config_from(pruned, compiled, broken_version_number=live.version, broken_errors=errors)


#: `config_current`'s default `version_id`: read the newest version id itself.
VERSION_UNREAD = -1
#: The newest version id as one column of another statement (the lead lock reads it along).
VERSION_LATEST_SQL = (
    f"SELECT v.id FROM {RoutingConfigVersion._meta.db_table} v ORDER BY v.number DESC LIMIT 1"
)


def config_current(*, version_id: int | None = VERSION_UNREAD) -> CurrentConfig:
    """The compiled live configuration, compiled once per change (cached per process).

    Every call reads the newest version id (one index lookup), so a lead routed after a
    configuration change commits is routed by it; other changes (a row written without a
    version) are caught by a fuller check every ROUTING_CONFIG_RECHECK_SECONDS. When the live
    configuration does not compile, routing goes on with the last one that did (`broken_errors`
    says why; managers are alerted once per broken version); ConfigError only when none ever did.
    `version_id`: the newest version id as the caller's own statement, in this transaction, just
    read it (the hot path saves a round trip).
    """
    recheck = float(getattr(settings, "ROUTING_CONFIG_RECHECK_SECONDS", 1.0))
    if version_id == VERSION_UNREAD:
        version_id = config_version_latest()
    with _cache_lock:
        cached = _cache["config"]
        if (
            cached is not None
            and _cache["version_id"] == version_id
            and time.monotonic() - _cache["checked"] < recheck
        ):
            return cached  # type: ignore[no-any-return]
    key = _config_fingerprint()
    with _cache_lock:
        if cached is not None and _cache["key"] == key:
            _cache.update(checked=time.monotonic(), version_id=version_id)
            return cached  # type: ignore[no-any-return]
    snapshot = config_snapshot_build()
    try:
        compiled = compile_config(snapshot)
    except Exception as exc:  # a compiler bug must not stop routing either
        errors = exc.errors if isinstance(exc, ConfigError) else {"": [repr(exc)]}
        config_state_broken(version_number=snapshot.version, errors=errors)
        fallback = _config_fallback(live=snapshot, errors=errors)
        if fallback is None:
            raise exc if isinstance(exc, ConfigError) else ConfigError(errors) from exc
        with _cache_lock:
            _cache.update(key=key, config=fallback, checked=time.monotonic(), version_id=version_id)
        return fallback
    config = _config_from(snapshot, compiled)
    with _cache_lock:
        _cache.update(
            key=key, config=config, good=config, checked=time.monotonic(), version_id=version_id
        )
    config_state_good(version_number=snapshot.version, snapshot=snapshot)
    return config


def config_cache_clear() -> None:
    with _cache_lock:
        _cache.update(key=None, config=None, good=None, checked=0.0, version_id=None)
    _rates_cache.update(at=0.0, day=None)
    config_state_forget()


def lead_facts(lead: Lead) -> LeadFacts:
    fields: dict[str, object] = {name: getattr(lead, name) for name in LEAD_FACT_FIELDS}
    fields["extra"] = lead.extra or {}
    # Empty strings are "not given" for conditions and `exists`.
    fields = {k: v for k, v in fields.items() if v not in ("", None)}
    return LeadFacts(lead_id=lead.pk, fields=fields)


def _conversion_rates(now: datetime) -> dict[int, float]:
    """Trailing-90-day conversion rate per rep over closed leads they own, as of `now`'s day.

    Cached 10 minutes per day, so routing a back-dated lead (backfill, simulation) uses the
    rates of its own day.
    """
    fresh = time.monotonic() - _rates_cache["at"] < _RATES_TTL_SECONDS
    if fresh and _rates_cache["day"] == now.date():
        return _rates_cache["rates"]  # type: ignore[no-any-return]
    rows = (
        Lead.objects.filter(
            owner__isnull=False,
            created_at__gte=now - CONVERSION_WINDOW,
            status__in=[LeadStatus.CONVERTED, LeadStatus.DISQUALIFIED],
        )
        .values("owner")
        .annotate(closed=Count("id"), won=Count("id", filter=Q(status=LeadStatus.CONVERTED)))
    )
    rates = {row["owner"]: row["won"] / row["closed"] for row in rows if row["closed"]}
    _rates_cache.update(at=time.monotonic(), day=now.date(), rates=rates)
    return rates


def rep_loads(
    *,
    now: datetime,
    rep_ids: Iterable[int] | None = None,
    need_rates: bool = True,
) -> dict[int, RepLoad]:
    """Live load of every rep (or of `rep_ids`) at `now`: one query, plus rates when needed.

    Unlocked: routing's first look. Writers read exact counters under the rows' locks
    (apps.routing.locking.rep_counters_lock). Plain SQL because routing reads it for every
    batch (the ORM doubled its cost).
    """
    sql = (
        "SELECT id, away, open_leads_count, assigned_today, assigned_today_date,"
        f" last_assigned_at, time_zone FROM {Rep._meta.db_table}"
    )
    params: list[int] = []
    if rep_ids is not None:
        params = list(rep_ids)
        if not params:
            return {}
        sql += f" WHERE id IN ({', '.join(['%s'] * len(params))})"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    rates = _conversion_rates(now) if need_rates else {}
    loads: dict[int, RepLoad] = {}
    local_today: dict[str, date] = {}
    for rep_id, away, open_count, today, today_date, last_at, tz in rows:
        if tz not in local_today:
            local_today[tz] = now.astimezone(ZoneInfo(tz)).date()
        if isinstance(today_date, str):  # SQLite without a declared-type converter
            today_date = date.fromisoformat(today_date)
        if last_at is not None and last_at.tzinfo is None:  # SQLite keeps UTC, naive
            last_at = last_at.replace(tzinfo=UTC)
        loads[rep_id] = RepLoad(
            rep_id=rep_id,
            away=bool(away),
            open_leads=open_count,
            leads_today=today if today_date == local_today[tz] else 0,
            last_assigned_at=last_at,
            conversion_rate_90d=rates.get(rep_id),
        )
    return loads


def rep_caps(*, rep_ids: Iterable[int]) -> dict[int, tuple[int | None, int | None]]:
    """The reps' live (max_open_leads, max_daily_leads), as stored now."""
    return {
        rep_id: (max_open, max_daily)
        for rep_id, max_open, max_daily in Rep.objects.filter(pk__in=list(rep_ids)).values_list(
            "pk", "max_open_leads", "max_daily_leads"
        )
    }


def rotation_states(*, rule_ids: Iterable[int] | None = None) -> dict[int, RotationState]:
    queryset = RotationStateRow.objects.all()
    if rule_ids is not None:
        queryset = queryset.filter(rule_id__in=list(rule_ids))
    return {
        rule_id: RotationState(rule_id=rule_id, data=data)
        for rule_id, data in queryset.values_list("rule_id", "data")
    }


def rep_ids_who_held(*, lead_id: int) -> frozenset[int]:
    return frozenset(Assignment.objects.filter(lead_id=lead_id).values_list("rep_id", flat=True))


def lead_assignment_list(*, lead_id: int) -> QuerySet[Assignment]:
    """A lead's assignment history, oldest first."""
    return (
        Assignment.objects.filter(lead_id=lead_id)
        .select_related("rep__user", "actor", "config_version")
        .defer("config_version__document")
        .order_by("assigned_at", "id")
    )


def assignment_current(*, lead_id: int) -> Assignment | None:
    """A lead's current assignment with its rep, actor and configuration version, or None."""
    return (
        Assignment.objects.filter(lead_id=lead_id, ended_at__isnull=True)
        .select_related("rep__user", "actor", "config_version")
        .order_by("-assigned_at", "-id")
        .first()
    )


def lead_current_reasons(*, lead_ids: list[int]) -> dict[int, str]:
    """Each lead's current assignment reason ("why you got this lead"), by lead id; one query."""
    rows = Assignment.objects.filter(lead_id__in=lead_ids, ended_at__isnull=True).values_list(
        "lead_id", "reason"
    )
    return dict(rows)


def lead_held_by(*, lead_id: int, rep: Any) -> bool:
    """Whether ``rep`` ever held this lead: they know it exists, so a page may tell them it moved
    (someone else's lead they never held stays a 404)."""
    return Assignment.objects.filter(lead_id=lead_id, rep=rep).exists()
