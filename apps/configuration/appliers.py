"""Applying a validated document collection by collection: territories, reps, accounts, rules."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count

from apps.accounts.models import Account
from apps.core.roles import user_manageable_by
from apps.leads.models import Lead, LeadStatus
from apps.reps.models import Rep, TimeOff, TimeOffSource, WorkingHours
from apps.reps.selectors import rep_list
from apps.rules.models import RoutingRule, rule_key_new
from apps.territories.models import Territory

from .export import (
    account_item,
    datetime_text,
    rep_item,
    rule_item,
    territory_item,
    time_off_item,
)
from .items import ConfigValidationError
from .versions import actor_or_none

__all__ = [
    "Tally",
    "accounts_apply",
    "open_leads_by_rule",
    "reps_apply",
    "row_delete",
    "row_save",
    "rules_apply",
    "territories_apply",
]


class Tally:
    def __init__(self) -> None:
        self.added = 0
        self.changed = 0
        self.removed = 0
        self.notes: list[str] = []

    def text(self, name: str) -> str | None:
        if not (self.added or self.changed or self.removed or self.notes):
            return None
        text = f"{name}: +{self.added} ~{self.changed} -{self.removed}"
        return f"{text} ({'; '.join(self.notes)})" if self.notes else text


def row_save(obj: Any, actor: Any) -> None:
    """Save a configuration row with its author in its history."""
    obj._history_user = actor_or_none(actor)  # simple-history records who made the change
    obj.save()


def row_delete(obj: Any, actor: Any) -> None:
    """Delete a configuration row with its author in its history."""
    obj._history_user = actor_or_none(actor)
    obj.delete()


#: pg_advisory_xact_lock key of configuration writers (any fixed number unique in this project)
# --- per collection ----------------------------------------------------------------------------


def _territory_wanted(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "code": item["code"],
        "name": item["name"],
        "parent": item["parent"],
        "countries": item["countries"],
        "regions": item["regions"],
        "postal_prefixes": item["postal_prefixes"],
    }


def territories_apply(items: list[dict[str, Any]], actor: Any) -> Tally:
    tally = Tally()
    existing = {t.code: t for t in Territory.objects.select_related("parent")}
    wanted = {item["code"]: _territory_wanted(item) for item in items}
    # Parents first, so each row is saved once with its final parent (the tree is acyclic).
    depth: dict[str, int] = {}

    def level(code: str) -> int:
        if code not in depth:
            parent = wanted[code]["parent"]
            depth[code] = 0 if parent is None else level(parent) + 1
        return depth[code]

    by_code: dict[str, Territory] = dict(existing)
    for code in sorted(wanted, key=lambda c: (level(c), c)):
        item = wanted[code]
        territory = existing.get(code)
        if territory is not None and territory_item(territory) == item:
            continue
        if territory is None:
            territory = Territory(code=code)
            tally.added += 1
        else:
            tally.changed += 1
        territory.name = item["name"]
        territory.parent = by_code[item["parent"]] if item["parent"] else None
        territory.countries = item["countries"]
        territory.regions = item["regions"]
        territory.postal_prefixes = item["postal_prefixes"]
        row_save(territory, actor)
        by_code[code] = territory

    removed = [t for code, t in existing.items() if code not in wanted]

    def old_depth(t: Territory) -> int:
        return len(t.ancestors())

    for territory in sorted(removed, key=old_depth, reverse=True):  # leaves first (PROTECT)
        row_delete(territory, actor)
        tally.removed += 1
    return tally


def _split_name(name: str) -> tuple[str, str]:
    first, _, last = name.strip().partition(" ")
    return first, last.strip()


def _rep_wanted(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "username": item["username"],
        "name": item["name"] or item["username"],
        "email": item["email"],
        "time_zone": item["time_zone"],
        "active": item["active"],
        "territories": sorted(item["territories"]),
        "weight": item["weight"],
        "max_open_leads": item["max_open_leads"],
        "max_daily_leads": item["max_daily_leads"],
        "skills": item["skills"],
        "languages": item["languages"],
        "working_hours": sorted(
            (
                {
                    "weekdays": sorted(w["weekdays"]),
                    "start": w["start"].strftime("%H:%M"),
                    "end": w["end"].strftime("%H:%M"),
                }
                for w in item["working_hours"]
            ),
            key=lambda w: (w["start"], w["weekdays"]),
        ),
        "time_off": sorted(
            (
                {
                    "starts_at": datetime_text(t["starts_at"]),
                    "ends_at": datetime_text(t["ends_at"]),
                    "reason": t["reason"],
                }
                for t in item["time_off"]
            ),
            key=lambda t: t["starts_at"],
        ),
    }


def _sync_working_hours(rep: Rep, windows: list[dict[str, Any]], actor: Any) -> None:
    def key(weekdays: list[int], start: datetime.time, end: datetime.time) -> tuple[Any, ...]:
        return (tuple(sorted(weekdays)), start.strftime("%H:%M"), end.strftime("%H:%M"))

    current = {key(w.weekdays, w.start, w.end): w for w in rep.working_hours.all()}
    wanted = {key(w["weekdays"], w["start"], w["end"]): w for w in windows}
    for k, row in current.items():
        if k not in wanted:
            row_delete(row, actor)
    for k, w in wanted.items():
        if k not in current:
            row_save(
                WorkingHours(
                    rep=rep, weekdays=sorted(w["weekdays"]), start=w["start"], end=w["end"]
                ),
                actor,
            )


def _kept_time_off(rep: Rep | None, periods: list[dict[str, Any]]) -> list[TimeOff]:
    """The rep's periods a document keeps without listing them: those reps or managers added."""
    if rep is None:
        return []
    listed = {(p["starts_at"], p["ends_at"]) for p in periods}
    return [
        t
        for t in rep.time_off.all()
        if t.source != TimeOffSource.CONFIG and (t.starts_at, t.ends_at) not in listed
    ]


def _sync_time_off(rep: Rep, periods: list[dict[str, Any]], actor: Any, index: int) -> None:
    """Replace the rep's document-written periods; periods reps or managers added are merged."""
    current = {(t.starts_at, t.ends_at): t for t in rep.time_off.all()}
    wanted = {(p["starts_at"], p["ends_at"]): p for p in periods}
    kept = [t for k, t in current.items() if k not in wanted and t.source != TimeOffSource.CONFIG]
    for t in kept:
        clash = next((k for k in wanted if k[0] < t.ends_at and t.starts_at < k[1]), None)
        if clash is not None:
            raise ConfigValidationError(
                {
                    "reps": {
                        str(index): {
                            "time_off": [
                                f"{datetime_text(clash[0])} to {datetime_text(clash[1])} overlaps "
                                f"time off {datetime_text(t.starts_at)} to "
                                f"{datetime_text(t.ends_at)} that was added outside the "
                                "document (kept); delete that one first"
                            ]
                        }
                    }
                }
            )
    for k, row in current.items():
        if k not in wanted and row.source == TimeOffSource.CONFIG:
            row_delete(row, actor)
    for k, p in wanted.items():
        row = current.get(k)
        if row is None:
            row_save(TimeOff(rep=rep, starts_at=k[0], ends_at=k[1], reason=p["reason"]), actor)
        elif row.reason != p["reason"]:
            row.reason = p["reason"]
            row_save(row, actor)


_NOT_YOURS = "'{}' is an account you may not edit (a superuser or more privileged than a manager)."


def _may_edit_login(actor: Any, user: Any) -> bool:
    """Commands run without an actor (shell access is trusted); people go by their role."""
    if not getattr(actor, "is_authenticated", False):
        return True
    return user_manageable_by(actor=actor, user=user)


def reps_apply(items: list[dict[str, Any]], actor: Any) -> Tally:
    tally = Tally()
    user_model = get_user_model()
    existing = {rep.user.username: rep for rep in rep_list()}
    users = {
        u.username: u
        for u in user_model.objects.filter(username__in=[i["username"] for i in items])
    }
    territory_ids = dict(Territory.objects.values_list("code", "id"))
    for index, item in enumerate(items):
        wanted = _rep_wanted(item)
        rep = existing.get(item["username"])
        kept = [time_off_item(t) for t in _kept_time_off(rep, item["time_off"])]
        wanted["time_off"] = sorted([*wanted["time_off"], *kept], key=lambda t: t["starts_at"])
        if rep is not None and rep_item(rep) == wanted:
            continue
        user = users.get(item["username"])
        if user is not None and not _may_edit_login(actor, user):
            # A rep item rewrites the login's name and email: never a more privileged account's.
            raise ConfigValidationError(
                {"reps": {str(index): {"username": [_NOT_YOURS.format(item["username"])]}}}
            )
        if user is None:
            user = user_model(username=item["username"])
            user.set_unusable_password()
        first, last = _split_name(wanted["name"])
        if user.pk is None or (user.get_full_name() or user.username) != wanted["name"]:
            user.first_name, user.last_name = first, last
        user.email = item["email"]
        user.save()
        if rep is None:
            rep = Rep(user=user)
            tally.added += 1
        else:
            tally.changed += 1
        for name in (
            "time_zone",
            "active",
            "weight",
            "max_open_leads",
            "max_daily_leads",
            "skills",
            "languages",
        ):
            setattr(rep, name, item[name])
        row_save(rep, actor)
        rep.territories.set([territory_ids[code] for code in item["territories"]])
        _sync_working_hours(rep, item["working_hours"], actor)
        _sync_time_off(rep, item["time_off"], actor, index)

    wanted_names = {item["username"] for item in items}
    kept_reps: list[str] = []
    for username, rep in existing.items():
        if username in wanted_names:
            continue
        # Assignments and leads point at the rep (PROTECT): keep the row, stop routing to it.
        if rep.leads.exists() or rep.assignments.exists():
            kept_reps.append(username)
            if rep.active:
                rep.active = False
                row_save(rep, actor)
                tally.changed += 1
        else:
            row_delete(rep, actor)
            tally.removed += 1
    if kept_reps:
        tally.notes.append(f"kept inactive, they have leads: {', '.join(sorted(kept_reps))}")
    return tally


def accounts_apply(items: list[dict[str, Any]], actor: Any) -> Tally:
    tally = Tally()
    existing = {a.domain: a for a in Account.objects.select_related("owner__user")}
    rep_ids = dict(Rep.objects.values_list("user__username", "id"))
    wanted = {item["domain"]: item for item in items}
    for domain, item in wanted.items():
        account = existing.get(domain)
        target = {"domain": domain, "name": item["name"], "owner": item["owner"]}
        if account is not None and account_item(account) == target:
            continue
        if account is None:
            account = Account(domain=domain)
            tally.added += 1
        else:
            tally.changed += 1
        account.name = item["name"]
        account.owner_id = rep_ids[item["owner"]] if item["owner"] else None
        row_save(account, actor)
    for domain, account in existing.items():
        if domain not in wanted:
            row_delete(account, actor)
            tally.removed += 1
    return tally


def open_leads_by_rule(rule_ids: list[int]) -> dict[int, int]:
    rows = (
        Lead.objects.filter(
            rule_id__in=rule_ids, status__in=[LeadStatus.ASSIGNED, LeadStatus.CONTACTED]
        )
        .values("rule_id")
        .annotate(n=Count("id"))
    )
    return {row["rule_id"]: row["n"] for row in rows}


def rules_apply(items: list[dict[str, Any]], actor: Any, *, force: bool) -> Tally:
    """Rules are matched by their stable ``key``; an item without one (an old document) by name.

    A matched rule keeps its id, rotation and leads whatever its new name. Removing a rule
    that still owns open leads needs ``force``.
    """
    tally = Tally()
    rules = list(RoutingRule.objects.all())
    by_key = {rule.key: rule for rule in rules}
    by_name = {rule.name: rule for rule in rules}
    matched: list[RoutingRule | None] = []
    claimed: set[int] = set()
    for item in items:
        rule = by_key.get(item["key"]) if item.get("key") else by_name.get(item["name"])
        if rule is not None and rule.pk in claimed:
            rule = None  # an old document naming a rule whose key another item already took
        if rule is not None:
            claimed.add(rule.pk)
        matched.append(rule)
    removed = [rule for rule in rules if rule.pk not in claimed]
    open_leads = open_leads_by_rule([rule.pk for rule in removed])
    if open_leads and not force:
        raise ConfigValidationError(
            {
                "rules": [
                    f"removing rule '{rule.name}' (key {rule.key}) would orphan "
                    f"{open_leads[rule.pk]} open lead(s); reassign them first, or force it"
                    for rule in removed
                    if rule.pk in open_leads
                ]
            }
        )
    # Removed rules go first so a new or renamed rule may reuse a freed name.
    for rule in removed:
        row_delete(rule, actor)
        tally.removed += 1
    taken = {rule.key for rule in rules if rule.pk in claimed}
    taken |= {item["key"] for item in items if item.get("key")}
    renamed = [
        rule
        for rule, item in zip(matched, items, strict=True)
        if rule and rule.name != item["name"]
    ]
    for rule in renamed:
        # Free the old names first: two rules may swap names in one document (unique name).
        rule.name = f"~renaming-{rule.pk}"
        RoutingRule.objects.filter(pk=rule.pk).update(name=rule.name)
    for position, (item, rule) in enumerate(zip(items, matched, strict=True)):
        wanted = {key: item[key] for key in rule_item(RoutingRule()) if key in item}
        wanted.pop("key", None)
        current = rule_item(rule) if rule is not None else None
        if current is not None:
            current.pop("key", None)
        if rule is not None and current == wanted and rule.position == position:
            continue
        if rule is None:
            key = item.get("key") or rule_key_new(name=item["name"], taken=taken)
            taken.add(key)
            rule = RoutingRule(key=key)
            tally.added += 1
        else:
            tally.changed += 1
        for key, value in wanted.items():
            setattr(rule, key, value)
        rule.require_skill_from = item["require_skill_from"] or ""
        rule.position = position
        row_save(rule, actor)
    return tally
