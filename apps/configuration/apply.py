"""Write side of the configuration document: apply it atomically and record versions."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Count, Max
from rest_framework import status
from rest_framework.exceptions import APIException

from apps.accounts.models import Account
from apps.core.roles import user_manageable_by
from apps.leads.models import Lead, LeadStatus
from apps.reps.models import Rep, TimeOff, TimeOffSource, WorkingHours
from apps.reps.selectors import rep_list
from apps.rules.models import RoutingRule, rule_key_new
from apps.territories.models import Territory

from .document import COLLECTIONS, ConfigValidationError, ValidDocument, document_validate
from .export import (
    _export_parts,
    account_item,
    datetime_text,
    rep_item,
    routing_config_export,
    rule_item,
    territory_item,
    time_off_item,
)
from .models import RoutingConfigVersion

__all__ = [
    "ConfigVersionConflict",
    "config_version_check",
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


#: pg_advisory_xact_lock key of configuration writers (any fixed number unique in this project)
CONFIG_LOCK_KEY = 7_263_001


def _lock_versions() -> RoutingConfigVersion | None:
    """Lock and return the newest version (None before the first).

    Serialises configuration writers: each reads, diffs and writes against the state the
    previous one committed. Every writer takes it BEFORE reading the live configuration.
    """
    if connection.vendor == "postgresql":
        # A row lock locks nothing before the first version exists; this lock always holds.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CONFIG_LOCK_KEY])
    return (
        RoutingConfigVersion.objects.select_for_update(of=("self",))
        .select_related("author")
        .order_by("-number")
        .first()
    )


class ConfigVersionConflict(APIException):
    """A write was based on a configuration version that is no longer the current one (412)."""

    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_code = "stale_version"

    def __init__(self, *, based_on: int, current: RoutingConfigVersion | None) -> None:
        number = current.number if current else 0
        who = current.author.get_username() if current and current.author_id else None
        when = current.created_at.isoformat() if current else None
        by = f" by {who}" if who else ""
        at = f" at {when}" if when else ""
        self.message = (
            f"The configuration changed since version {based_on}: the current version is "
            f"{number} (changed{by}{at}). Reload it and apply your change again, or force it."
        )
        super().__init__(self.message)
        # Plain JSON values (numbers stay numbers), not DRF's string-only error details.
        self.detail = {  # type: ignore[assignment]
            "detail": self.message,
            "based_on_version": based_on,
            "current_version": number,
            "changed_by": who,
            "changed_at": when,
        }


def _based_on_number(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigValidationError({field: ["must be a configuration version number (>= 0)"]})
    return value


def config_version_check(
    *, based_on: int | None, force: bool = False
) -> RoutingConfigVersion | None:
    """Lock the configuration for this transaction and check ``based_on`` is still current.

    ``based_on`` None (no If-Match, no ``based_on_version``) or ``force`` is unconditional.
    Raises :class:`ConfigVersionConflict` otherwise; returns the current version (locked).
    Must run inside ``transaction.atomic``: the lock is held until the caller commits.
    """
    current = _lock_versions()
    if based_on is None or force:
        return current
    if based_on != (current.number if current else 0):
        raise ConfigVersionConflict(based_on=based_on, current=current)
    return current


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
        _save(rep, actor)
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
                _save(rep, actor)
                tally.changed += 1
        else:
            _delete(rep, actor)
            tally.removed += 1
    if kept_reps:
        tally.notes.append(f"kept inactive, they have leads: {', '.join(sorted(kept_reps))}")
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


def _open_leads_by_rule(rule_ids: list[int]) -> dict[int, int]:
    rows = (
        Lead.objects.filter(
            rule_id__in=rule_ids, status__in=[LeadStatus.ASSIGNED, LeadStatus.CONTACTED]
        )
        .values("rule_id")
        .annotate(n=Count("id"))
    )
    return {row["rule_id"]: row["n"] for row in rows}


def _apply_rules(items: list[dict[str, Any]], actor: Any, *, force: bool) -> _Tally:
    """Rules are matched by their stable ``key``; an item without one (an old document) by name.

    A matched rule keeps its id, rotation and leads whatever its new name. Removing a rule
    that still owns open leads needs ``force``.
    """
    tally = _Tally()
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
    open_leads = _open_leads_by_rule([rule.pk for rule in removed])
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
        _delete(rule, actor)
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
        _save(rule, actor)
    return tally


def routing_config_apply(
    *,
    document: Any,
    actor: Any,
    source: str,
    note: str = "",
    based_on: int | None = None,
    force: bool = False,
) -> RoutingConfigVersion:
    """Replace the whole configuration with ``document`` (API.md) in one transaction.

    Validates everything first; any error raises :class:`ConfigValidationError` with every
    path and nothing is changed. Items are upserted by natural key (territory code, rep
    username, account domain; rules by their stable ``key``, by name when the document has
    none). ``based_on`` (or the document's ``based_on_version``) must name the current version,
    else :class:`ConfigVersionConflict`; ``force`` skips that check and allows removing rules
    that still own open leads. Time off that reps or managers added outside a document is kept
    unless the document lists it. Records and returns a new config version.
    """
    valid: ValidDocument = document_validate(document)
    if based_on is None and isinstance(document, Mapping) and "based_on_version" in document:
        based_on = _based_on_number(document["based_on_version"], "based_on_version")
    with transaction.atomic():
        config_version_check(based_on=based_on, force=force)
        parts = [
            ("territories", _apply_territories(valid.territories, actor)),
            ("reps", _apply_reps(valid.reps, actor)),
            ("accounts", _apply_accounts(valid.accounts, actor)),
            ("rules", _apply_rules(valid.rules, actor, force=force)),
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
    based_on: int | None = None,
    force: bool = False,
) -> RoutingConfigVersion:
    """Create (``key`` None) or replace one item of the live document, validated as a whole.

    The configuration is locked before it is read, so concurrent item writes queue and each
    applies on top of the other. ``based_on``/``force`` as in :func:`routing_config_apply`.
    """
    with transaction.atomic():
        config_version_check(based_on=based_on, force=force)
        document, _ = _export_parts()
        items: list[dict[str, Any]] = document[collection]
        key_field = COLLECTIONS[collection]
        keys = [i[key_field] for i in items]
        if key is None:
            if item.get(key_field) in keys:
                raise ConfigValidationError({key_field: [f"'{item[key_field]}' already exists."]})
            index = len(items) if position is None else max(0, min(position, len(items)))
            items.insert(index, item)
        else:
            index = keys.index(key)
            if collection == "rules":
                if item.get("name") != key and item.get("name") in keys:
                    raise ConfigValidationError({"name": [f"'{item['name']}' already exists."]})
                stable = items[index]["key"]
                if item.get("key") not in (None, stable):
                    raise ConfigValidationError(
                        {"key": [f"a rule's key cannot be changed (it is '{stable}')"]}
                    )
                item = {**item, "key": stable}  # the same rule, whatever its new name
            items[index] = item
            if position is not None:
                items.pop(index)
                index = max(0, min(position, len(items)))
                items.insert(index, item)
        try:
            return routing_config_apply(document=document, actor=actor, source=source)
        except ConfigValidationError as exc:
            raise ConfigValidationError(
                _item_errors(exc.detail, document, collection, index)
            ) from exc


def routing_config_item_delete(
    *,
    collection: str,
    key: str,
    actor: Any,
    source: str = "api",
    based_on: int | None = None,
    force: bool = False,
) -> RoutingConfigVersion:
    """Remove one item; refused (400) while other items still refer to it, or (a rule) while
    it owns open leads unless ``force``."""
    with transaction.atomic():
        config_version_check(based_on=based_on, force=force)
        document, _ = _export_parts()
        key_field = COLLECTIONS[collection]
        document[collection] = [i for i in document[collection] if i[key_field] != key]
        try:
            return routing_config_apply(document=document, actor=actor, source=source, force=force)
        except ConfigValidationError as exc:
            detail = _item_errors(exc.detail, document, collection, None)
            messages = [
                m if collection == "rules" and "open lead" in m else f"'{key}' is still in use: {m}"
                for m in detail.get("non_field_errors", [])
            ]
            raise ConfigValidationError({"non_field_errors": messages}) from exc
