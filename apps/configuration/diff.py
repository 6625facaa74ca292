"""What changed between two configuration documents (API.md), as readable sentences.

A pure function over two documents (plain JSON, as versions store them): no database. Items are
matched by their natural key (territory code, rep username, account domain; rules by their
stable ``key``, by name when a document has none), so a renamed rule is one rule renamed, not
one removed and one added. A rule *moved* only when its order relative to the rules both
documents hold changed: adding a rule above others does not "move" them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from apps.rules.summaries import conditions_summary, target_summary

__all__ = ["ConfigChange", "config_diff", "rule_identity"]

#: Rule settings besides name, conditions, target, strategy and active, with their labels.
_RULE_SETTINGS = {
    "description": "description",
    "sla_minutes": "SLA minutes",
    "respect_working_hours": "respects working hours",
    "require_skill_from": "skill required from",
    "require_language": "language required",
    "when_no_one_eligible": "when no one is eligible",
    "sla_business_hours": "SLA in business hours",
}
_REP_CAPACITY = {"max_open_leads": "max open leads", "max_daily_leads": "max leads a day"}
_REP_SETTINGS = {
    "name": "name",
    "email": "email",
    "time_zone": "time zone",
    "weight": "weight",
    "skills": "skills",
    "languages": "languages",
    "working_hours": "working hours",
    "time_off": "time off",
}
_TERRITORY_SETTINGS = {
    "name": "name",
    "parent": "parent",
    "countries": "countries",
    "regions": "regions",
    "postal_prefixes": "postal prefixes",
}


@dataclass(frozen=True)
class ConfigChange:
    """One change: what kind, to which item (section and natural key), in one sentence."""

    #: e.g. "rule_added", "rule_moved", "rule_conditions", "rep_territories", "rep_capacity"
    kind: str
    #: "rules", "territories", "reps" or "accounts"
    section: str
    #: the item's natural key (a rule's key, a rep's username...)
    key: str
    #: the item's name as people know it (a rule's name in the newer document)
    subject: str
    summary: str

    def as_dict(self) -> dict[str, str]:
        return {
            "kind": self.kind,
            "section": self.section,
            "key": self.key,
            "subject": self.subject,
            "summary": self.summary,
        }


def _text(value: Any) -> str:
    if value is None or value == "" or value == []:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        if all(isinstance(v, str | int | float) for v in value):
            return ", ".join(str(v) for v in value)
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    if isinstance(value, Mapping):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return str(value)


def _items(document: Mapping[str, Any] | None, section: str) -> list[Mapping[str, Any]]:
    items = (document or {}).get(section) or []
    return [item for item in items if isinstance(item, Mapping)]


def rule_identity(rule: Mapping[str, Any]) -> str:
    """A rule's identity across documents: its key, else its name."""
    return str(rule.get("key") or rule.get("name") or "")


def _by(items: Iterable[Mapping[str, Any]], field: str) -> dict[str, Mapping[str, Any]]:
    return {str(item.get(field)): item for item in items if item.get(field) is not None}


def _settings_changes(
    old: Mapping[str, Any], new: Mapping[str, Any], labels: Mapping[str, str]
) -> list[str]:
    return [
        f"{label} {_text(old.get(field))} → {_text(new.get(field))}"
        for field, label in labels.items()
        if old.get(field) != new.get(field)
    ]


# --- rules ------------------------------------------------------------------------------------


def _stable(old_order: Sequence[str], new_order: Sequence[str]) -> set[str]:
    """The longest run of rules kept in the same relative order (an LCS); the rest moved."""
    common = set(old_order) & set(new_order)
    a = [k for k in old_order if k in common]
    b = [k for k in new_order if k in common]
    # Classic O(n*m) table: rule lists are tens long, not thousands.
    lengths = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) - 1, -1, -1):
        for j in range(len(b) - 1, -1, -1):
            lengths[i][j] = (
                lengths[i + 1][j + 1] + 1
                if a[i] == b[j]
                else max(lengths[i + 1][j], lengths[i][j + 1])
            )
    kept: set[str] = set()
    i = j = 0
    while i < len(a) and j < len(b):
        if a[i] == b[j]:
            kept.add(a[i])
            i, j = i + 1, j + 1
        elif lengths[i + 1][j] >= lengths[i][j + 1]:
            i += 1
        else:
            j += 1
    return kept


def _rule_target(rule: Mapping[str, Any]) -> str:
    return target_summary(rule.get("target"), rule.get("strategy"))


def _rules_diff(
    old_doc: Mapping[str, Any] | None, new_doc: Mapping[str, Any]
) -> list[ConfigChange]:
    old_rules, new_rules = _items(old_doc, "rules"), _items(new_doc, "rules")
    old_by = {rule_identity(r): r for r in old_rules}
    new_by = {rule_identity(r): r for r in new_rules}
    old_order, new_order = list(old_by), list(new_by)
    kept = _stable(old_order, new_order)
    changes: list[ConfigChange] = []

    def add(kind: str, key: str, name: str, summary: str) -> None:
        changes.append(ConfigChange(kind, "rules", key, name, summary))

    for position, key in enumerate(new_order, start=1):
        new = new_by[key]
        name = str(new.get("name", key))
        old = old_by.get(key)
        if old is None:
            state = "" if new.get("active", True) else ", inactive"
            add(
                "rule_added",
                key,
                name,
                f"Rule '{name}' added at position {position}{state}: "
                f"{conditions_summary(new.get('conditions'))} → {_rule_target(new)} "
                f"({new.get('strategy', 'round_robin')})",
            )
            continue
        old_name = str(old.get("name", key))
        if old_name != name:
            add("rule_renamed", key, name, f"Rule '{old_name}' renamed to '{name}'")
        if key not in kept:
            add(
                "rule_moved",
                key,
                name,
                f"Rule '{name}' moved from position {old_order.index(key) + 1} to {position}",
            )
        if old.get("active", True) != new.get("active", True):
            kind, verb = (
                ("rule_activated", "activated")
                if new.get("active", True)
                else ("rule_deactivated", "deactivated")
            )
            add(kind, key, name, f"Rule '{name}' {verb}")
        if (old.get("conditions") or []) != (new.get("conditions") or []):
            add(
                "rule_conditions",
                key,
                name,
                f"Rule '{name}' conditions: {conditions_summary(old.get('conditions'))} → "
                f"{conditions_summary(new.get('conditions'))}",
            )
        if old.get("target") != new.get("target"):
            add(
                "rule_target",
                key,
                name,
                f"Rule '{name}' target: {_rule_target(old)} → {_rule_target(new)}",
            )
        if old.get("strategy") != new.get("strategy"):
            add(
                "rule_strategy",
                key,
                name,
                f"Rule '{name}' strategy: {_text(old.get('strategy'))} → "
                f"{_text(new.get('strategy'))}",
            )
        settings = _settings_changes(old, new, _RULE_SETTINGS)
        if settings:
            add("rule_settings", key, name, f"Rule '{name}': " + "; ".join(settings))
    for key in old_order:
        if key not in new_by:
            old = old_by[key]
            name = str(old.get("name", key))
            add(
                "rule_removed",
                key,
                name,
                f"Rule '{name}' removed (was at position {old_order.index(key) + 1}: "
                f"{conditions_summary(old.get('conditions'))} → {_rule_target(old)})",
            )
    return changes


# --- territories, reps, accounts ----------------------------------------------------------------


def _territories_diff(
    old_doc: Mapping[str, Any] | None, new_doc: Mapping[str, Any]
) -> list[ConfigChange]:
    old_by = _by(_items(old_doc, "territories"), "code")
    new_by = _by(_items(new_doc, "territories"), "code")
    changes: list[ConfigChange] = []
    for code, new in new_by.items():
        old = old_by.get(code)
        if old is None:
            parent = f" under {new['parent']}" if new.get("parent") else ""
            changes.append(
                ConfigChange(
                    "territory_added", "territories", code, code, f"Territory {code} added{parent}"
                )
            )
            continue
        settings = _settings_changes(old, new, _TERRITORY_SETTINGS)
        if settings:
            changes.append(
                ConfigChange(
                    "territory_changed",
                    "territories",
                    code,
                    code,
                    f"Territory {code}: " + "; ".join(settings),
                )
            )
    changes.extend(
        ConfigChange("territory_removed", "territories", code, code, f"Territory {code} removed")
        for code in old_by
        if code not in new_by
    )
    return changes


def _territory_move(username: str, old: Sequence[str], new: Sequence[str]) -> str:
    left = [c for c in old if c not in new]
    joined = [c for c in new if c not in old]
    if left and joined:
        return f"{username} moved from {', '.join(left)} to {', '.join(joined)}"
    if joined:
        return f"{username} joined {', '.join(joined)}"
    return f"{username} left {', '.join(left)}"


def _reps_diff(old_doc: Mapping[str, Any] | None, new_doc: Mapping[str, Any]) -> list[ConfigChange]:
    old_by = _by(_items(old_doc, "reps"), "username")
    new_by = _by(_items(new_doc, "reps"), "username")
    changes: list[ConfigChange] = []

    def add(kind: str, username: str, summary: str) -> None:
        changes.append(ConfigChange(kind, "reps", username, username, summary))

    for username, new in new_by.items():
        old = old_by.get(username)
        if old is None:
            where = _text(new.get("territories"))
            add("rep_added", username, f"Rep {username} added (territories: {where})")
            continue
        if old.get("active", True) != new.get("active", True):
            state = "reactivated" if new.get("active", True) else "deactivated"
            add("rep_active", username, f"Rep {username} {state}")
        old_t, new_t = list(old.get("territories") or []), list(new.get("territories") or [])
        if sorted(old_t) != sorted(new_t):
            add("rep_territories", username, _territory_move(username, old_t, new_t))
        capacity = _settings_changes(old, new, _REP_CAPACITY)
        if capacity:
            add("rep_capacity", username, f"Rep {username}: " + "; ".join(capacity))
        settings = _settings_changes(old, new, _REP_SETTINGS)
        if settings:
            add("rep_settings", username, f"Rep {username}: " + "; ".join(settings))
    for username in old_by:
        if username not in new_by:
            add("rep_removed", username, f"Rep {username} removed")
    return changes


def _accounts_diff(
    old_doc: Mapping[str, Any] | None, new_doc: Mapping[str, Any]
) -> list[ConfigChange]:
    old_by = _by(_items(old_doc, "accounts"), "domain")
    new_by = _by(_items(new_doc, "accounts"), "domain")
    changes: list[ConfigChange] = []
    for domain, new in new_by.items():
        old = old_by.get(domain)
        owner = _text(new.get("owner"))
        if old is None:
            changes.append(
                ConfigChange(
                    "account_added",
                    "accounts",
                    domain,
                    domain,
                    f"Account {domain} added (owner {owner})",
                )
            )
        elif old.get("owner") != new.get("owner"):
            changes.append(
                ConfigChange(
                    "account_owner",
                    "accounts",
                    domain,
                    domain,
                    f"Account {domain} owner: {_text(old.get('owner'))} → {owner}",
                )
            )
        elif old.get("name") != new.get("name"):
            changes.append(
                ConfigChange(
                    "account_renamed",
                    "accounts",
                    domain,
                    domain,
                    f"Account {domain} renamed '{old.get('name')}' → '{new.get('name')}'",
                )
            )
    changes.extend(
        ConfigChange("account_removed", "accounts", domain, domain, f"Account {domain} removed")
        for domain in old_by
        if domain not in new_by
    )
    return changes


def config_diff(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> list[ConfigChange]:
    """Every change from ``old`` to ``new`` (``old`` None: the first version, all added):
    rules first (in the newer order, removals last), then territories, reps and accounts."""
    return [
        *_rules_diff(old, new),
        *_territories_diff(old, new),
        *_reps_diff(old, new),
        *_accounts_diff(old, new),
    ]
