"""Write side of the configuration document: apply it atomically and record versions."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Max

from apps.accounts.models import Account
from apps.core.roles import user_manageable_by
from apps.reps.models import Rep, TimeOff, WorkingHours
from apps.routing.models import RoutingConfigVersion
from apps.rules.models import RoutingRule
from apps.territories.models import Territory

from .document import COLLECTIONS, ConfigValidationError, ValidDocument, document_validate
from .export import (
    _export_parts,
    account_item,
    datetime_text,
    rep_item,
    rep_queryset,
    routing_config_export,
    rule_item,
    territory_item,
)

__all__ = [
    "config_version_record",
    "routing_config_apply",
    "routing_config_item_delete",
    "routing_config_item_put",
]


class _Tally:
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


def _author(actor: Any) -> Any:
    return actor if getattr(actor, "is_authenticated", False) else None


def _save(obj: Any, actor: Any) -> None:
    obj._history_user = _author(actor)  # simple-history records who made the change
    obj.save()


def _delete(obj: Any, actor: Any) -> None:
    obj._history_user = _author(actor)
    obj.delete()


def _lock_versions() -> None:
    # Serialises configuration writers: each diffs against the state the previous one committed.
    list(RoutingConfigVersion.objects.select_for_update().order_by("-number").values_list("id")[:1])


def _version_create(*, actor: Any, source: str, summary: str, note: str) -> RoutingConfigVersion:
    last = RoutingConfigVersion.objects.aggregate(n=Max("number"))["n"] or 0
    return RoutingConfigVersion.objects.create(
        number=last + 1,
        document=routing_config_export(),
        author=_author(actor),
        source=source,
        summary=summary[:500],
        note=note,
    )


def config_version_record(
    *, actor: Any, source: str, summary: str, note: str = ""
) -> RoutingConfigVersion:
    """Snapshot the live configuration as a new version (after any single-object change)."""
    with transaction.atomic():
        _lock_versions()
        return _version_create(actor=actor, source=source, summary=summary, note=note)


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


def _apply_territories(items: list[dict[str, Any]], actor: Any) -> _Tally:
    tally = _Tally()
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
        _save(territory, actor)
        by_code[code] = territory

    removed = [t for code, t in existing.items() if code not in wanted]

    def old_depth(t: Territory) -> int:
        return len(t.ancestors())

    for territory in sorted(removed, key=old_depth, reverse=True):  # leaves first (PROTECT)
        _delete(territory, actor)
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
            _delete(row, actor)
    for k, w in wanted.items():
        if k not in current:
            _save(
                WorkingHours(
                    rep=rep, weekdays=sorted(w["weekdays"]), start=w["start"], end=w["end"]
                ),
                actor,
            )


def _sync_time_off(rep: Rep, periods: list[dict[str, Any]], actor: Any) -> None:
    current = {(t.starts_at, t.ends_at): t for t in rep.time_off.all()}
    wanted = {(p["starts_at"], p["ends_at"]): p for p in periods}
    for k, row in current.items():
        if k not in wanted:
            _delete(row, actor)
    for k, p in wanted.items():
        row = current.get(k)
        if row is None:
            _save(TimeOff(rep=rep, starts_at=k[0], ends_at=k[1], reason=p["reason"]), actor)
        elif row.reason != p["reason"]:
            row.reason = p["reason"]
            _save(row, actor)


_NOT_YOURS = "'{}' is an account you may not edit (a superuser or more privileged than a manager)."


def _may_edit_login(actor: Any, user: Any) -> bool:
    """Commands run without an actor (shell access is trusted); people go by their role."""
    if not getattr(actor, "is_authenticated", False):
        return True
    return user_manageable_by(actor=actor, user=user)


def _apply_reps(items: list[dict[str, Any]], actor: Any) -> _Tally:
    tally = _Tally()
    user_model = get_user_model()
    existing = {rep.user.username: rep for rep in rep_queryset()}
    users = {
        u.username: u
        for u in user_model.objects.filter(username__in=[i["username"] for i in items])
    }
    territory_ids = dict(Territory.objects.values_list("code", "id"))
    for index, item in enumerate(items):
        wanted = _rep_wanted(item)
        rep = existing.get(item["username"])
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
        _save(rep, actor)
        rep.territories.set([territory_ids[code] for code in item["territories"]])
        _sync_working_hours(rep, item["working_hours"], actor)
        _sync_time_off(rep, item["time_off"], actor)

    wanted_names = {item["username"] for item in items}
    kept: list[str] = []
    for username, rep in existing.items():
        if username in wanted_names:
            continue
        # Assignments and leads point at the rep (PROTECT): keep the row, stop routing to it.
        if rep.leads.exists() or rep.assignments.exists():
            kept.append(username)
            if rep.active:
                rep.active = False
                _save(rep, actor)
                tally.changed += 1
        else:
            _delete(rep, actor)
            tally.removed += 1
    if kept:
        tally.notes.append(f"kept inactive, they have leads: {', '.join(sorted(kept))}")
    return tally


def _apply_accounts(items: list[dict[str, Any]], actor: Any) -> _Tally:
    tally = _Tally()
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
        _save(account, actor)
    for domain, account in existing.items():
        if domain not in wanted:
            _delete(account, actor)
            tally.removed += 1
    return tally


def _apply_rules(items: list[dict[str, Any]], actor: Any, renames: Mapping[str, str]) -> _Tally:
    tally = _Tally()
    existing: dict[str, RoutingRule] = {}
    for rule in RoutingRule.objects.all():
        existing[renames.get(rule.name, rule.name)] = rule
    wanted_names = {item["name"] for item in items}
    # Removed rules go first so a new rule may reuse a freed name.
    for name, rule in existing.items():
        if name not in wanted_names:
            _delete(rule, actor)
            tally.removed += 1
    for position, item in enumerate(items):
        rule = existing.get(item["name"])
        wanted = {key: item[key] for key in rule_item(RoutingRule()) if key in item}
        if rule is not None and rule_item(rule) == wanted and rule.position == position:
            continue
        if rule is None:
            rule = RoutingRule()
            tally.added += 1
        else:
            tally.changed += 1
        for key, value in wanted.items():
            setattr(rule, key, value)
        rule.require_skill_from = item["require_skill_from"] or ""
        rule.position = position
        _save(rule, actor)
    return tally


def routing_config_apply(
    *,
    document: Any,
    actor: Any,
    source: str,
    note: str = "",
    rule_renames: Mapping[str, str] | None = None,
) -> RoutingConfigVersion:
    """Replace the whole configuration with ``document`` (API.md) in one transaction.

    Validates everything first; any error raises :class:`ConfigValidationError` with every
    path and nothing is changed. Items are upserted by natural key (territory code, rep
    username, account domain, rule name; ``rule_renames`` maps old rule names to new ones so a
    renamed rule keeps its id and rotation). Records and returns a new config version.
    """
    valid: ValidDocument = document_validate(document)
    with transaction.atomic():
        _lock_versions()
        parts = [
            ("territories", _apply_territories(valid.territories, actor)),
            ("reps", _apply_reps(valid.reps, actor)),
            ("accounts", _apply_accounts(valid.accounts, actor)),
            ("rules", _apply_rules(valid.rules, actor, rule_renames or {})),
        ]
        # Removing reps comes after accounts moved away from them; territories after reps left.
        texts = [text for name, tally in parts if (text := tally.text(name))]
        summary = "; ".join(texts) or "no changes"
        return _version_create(actor=actor, source=source, summary=summary, note=note)


# --- single items through the document ---------------------------------------------------------


def _item_label(collection: str, document: Mapping[str, Any], index: str) -> str:
    try:
        item = document[collection][int(index)]
        return f"{collection} '{item[COLLECTIONS[collection]]}'"
    except (KeyError, IndexError, ValueError, TypeError):
        return f"{collection}.{index}"


def _flatten(tree: Any, prefix: str) -> list[str]:
    if isinstance(tree, Mapping):
        out: list[str] = []
        for key, value in tree.items():
            sub = prefix if key == "non_field_errors" else f"{prefix}.{key}" if prefix else key
            out.extend(_flatten(value, sub))
        return out
    return [f"{prefix}: {message}" if prefix else str(message) for message in tree]


def _item_errors(
    detail: Mapping[str, Any], document: Mapping[str, Any], collection: str, index: int | None
) -> dict[str, Any]:
    """Errors of the whole document -> errors of one item, others named in non_field_errors."""
    own: dict[str, Any] = {}
    others: list[str] = []
    for top, subtree in detail.items():
        if top in COLLECTIONS and isinstance(subtree, Mapping):
            for idx, item_errors in subtree.items():
                if top == collection and index is not None and idx == str(index):
                    if isinstance(item_errors, Mapping):
                        own.update(item_errors)
                    else:
                        own.setdefault("non_field_errors", []).extend(item_errors)
                else:
                    others.extend(_flatten(item_errors, _item_label(top, document, idx)))
        else:
            others.extend(_flatten(subtree, top))
    if others:
        own.setdefault("non_field_errors", []).extend(others)
    return own


def routing_config_item_put(
    *,
    collection: str,
    key: str | None,
    item: dict[str, Any],
    actor: Any,
    position: int | None = None,
    source: str = "api",
) -> RoutingConfigVersion:
    """Create (``key`` None) or replace one item of the live document, validated as a whole."""
    document, _ = _export_parts()
    items: list[dict[str, Any]] = document[collection]
    key_field = COLLECTIONS[collection]
    keys = [i[key_field] for i in items]
    renames: dict[str, str] = {}
    if key is None:
        if item.get(key_field) in keys:
            raise ConfigValidationError({key_field: [f"'{item[key_field]}' already exists."]})
        index = len(items) if position is None else max(0, min(position, len(items)))
        items.insert(index, item)
    else:
        index = keys.index(key)
        if collection == "rules" and item.get("name") != key:
            if item.get("name") in keys:
                raise ConfigValidationError({"name": [f"'{item['name']}' already exists."]})
            renames[key] = item["name"]
        items[index] = item
        if position is not None:
            items.pop(index)
            index = max(0, min(position, len(items)))
            items.insert(index, item)
    try:
        return routing_config_apply(
            document=document, actor=actor, source=source, rule_renames=renames
        )
    except ConfigValidationError as exc:
        raise ConfigValidationError(_item_errors(exc.detail, document, collection, index)) from exc


def routing_config_item_delete(
    *, collection: str, key: str, actor: Any, source: str = "api"
) -> RoutingConfigVersion:
    """Remove one item; refused (400) while other items still refer to it."""
    document, _ = _export_parts()
    key_field = COLLECTIONS[collection]
    document[collection] = [i for i in document[collection] if i[key_field] != key]
    try:
        return routing_config_apply(document=document, actor=actor, source=source)
    except ConfigValidationError as exc:
        detail = _item_errors(exc.detail, document, collection, None)
        messages = [f"'{key}' is still in use: {m}" for m in detail.get("non_field_errors", [])]
        raise ConfigValidationError({"non_field_errors": messages}) from exc
