"""Validation of the configuration document: items (items.py), cross checks and the engine.

Every error is collected with its path and returned in DRF's nested shape, e.g.
``{"rules": {"2": {"conditions": ["unknown field 'colour'"]}}}``.
"""

from __future__ import annotations

import datetime
import itertools
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from apps.engine import (
    ConfigError,
    ConfigSnapshot,
    RepProfile,
    RuleDef,
    TerritoryDef,
    TimeOffPeriod,
    WorkingWindow,
    compile_config,
)
from apps.rules.models import NoOneEligible, Strategy

from .export import DOCUMENT_FORMAT
from .items import (
    COLLECTIONS,
    ITEM_SERIALIZERS,
    WEEKDAY_NAMES,
    ConfigValidationError,
    ErrorTree,
    StrictSerializer,
)

__all__ = ["ValidDocument", "document_validate", "error_add", "error_paths"]

# --- error trees -------------------------------------------------------------------------------


def _plain(detail: Any) -> Any:
    """DRF error detail -> plain JSON, lists of per-item dicts keyed by index ("1": {...})."""
    if isinstance(detail, Mapping):
        return {str(k): _plain(v) for k, v in detail.items()}
    if isinstance(detail, list):
        if any(isinstance(d, Mapping) for d in detail):
            return {str(i): _plain(d) for i, d in enumerate(detail) if d}
        return [str(d) for d in detail]
    return [str(detail)]


def error_add(tree: ErrorTree, path: list[str], messages: list[str] | ErrorTree) -> None:
    """Merge messages (or a subtree) into ``tree`` at ``path``; lists meet dicts under non_field_errors."""
    node = tree
    for part in path[:-1]:
        child = node.get(part)
        if isinstance(child, list):
            child = node[part] = {"non_field_errors": child}
        elif child is None:
            child = node[part] = {}
        node = child
    last = path[-1]
    current = node.get(last)
    if isinstance(messages, Mapping):
        if isinstance(current, list):
            current = node[last] = {"non_field_errors": current}
        elif current is None:
            current = node[last] = {}
        for key, value in messages.items():
            error_add(current, [key], value)
        return
    if isinstance(current, dict):
        error_add(current, ["non_field_errors"], messages)
        return
    bucket = node.setdefault(last, [])
    for message in messages:
        if message not in bucket:
            bucket.append(message)


#: how deep an engine path stays nested; deeper parts are summarised at that level
_DEPTH = {"territories": 3, "reps": 3, "accounts": 3, "rules": 3}
_REP_LISTS = {"working_hours", "time_off"}


def _engine_path(path: str) -> list[str]:
    parts = path.split(".")
    if parts[0] == "reps" and len(parts) >= 4 and parts[2] in _REP_LISTS:
        return parts[:5]
    return parts[: _DEPTH.get(parts[0], 1)]


# --- validation --------------------------------------------------------------------------------


@dataclass
class ValidDocument:
    """A validated document: clean items per collection, in document order."""

    territories: list[dict[str, Any]] = field(default_factory=list)
    reps: list[dict[str, Any]] = field(default_factory=list)
    accounts: list[dict[str, Any]] = field(default_factory=list)
    rules: list[dict[str, Any]] = field(default_factory=list)


def _best_effort(
    serializer_class: type[StrictSerializer], raw: Any, bad: set[str]
) -> dict[str, Any]:
    """The fields of an invalid item that are valid on their own (so cross checks still run)."""
    out: dict[str, Any] = {}
    if not isinstance(raw, Mapping):
        return out
    for name, fld in serializer_class().fields.items():
        if isinstance(fld, serializers.ListSerializer) and isinstance(raw.get(name), list):
            # Keep the valid entries (with their index) so overlaps among them are still found.
            kept = []
            for k, entry in enumerate(raw[name]):
                child = type(fld.child)(data=entry)
                if child.is_valid():
                    kept.append({**child.validated_data, "_index": k})
            out[name] = kept
            continue
        if name in bad:
            continue
        try:
            out[name] = fld.run_validation(raw.get(name, serializers.empty))
        except (serializers.ValidationError, serializers.SkipField, DjangoValidationError):
            continue
    return out


def _week_spans(window: dict[str, Any]) -> list[tuple[int, int]]:
    """Minutes since Monday 00:00 covered by a window; a window ending before it starts wraps."""
    start = window["start"].hour * 60 + window["start"].minute
    end = window["end"].hour * 60 + window["end"].minute
    length = end - start if end > start else 1440 - start + end
    spans = []
    for day in window["weekdays"]:
        begin = day * 1440 + start
        finish = begin + length
        if finish <= 7 * 1440:
            spans.append((begin, finish))
        else:  # Sunday night into Monday morning
            spans.extend([(begin, 7 * 1440), (0, finish - 7 * 1440)])
    return spans


def _working_hours_clashes(windows: list[dict[str, Any]]) -> list[str]:
    messages = []
    spans = [(_week_spans(w), w.get("_index", i)) for i, w in enumerate(windows)]
    for a in range(len(spans)):
        for b in range(a + 1, len(spans)):
            for s1, e1 in spans[a][0]:
                hit = next(((s2, e2) for s2, e2 in spans[b][0] if s1 < e2 and s2 < e1), None)
                if hit:
                    day = WEEKDAY_NAMES[max(s1, hit[0]) // 1440]
                    messages.append(
                        f"working hours {spans[a][1]} and {spans[b][1]} overlap on {day}"
                    )
                    break
            else:
                continue
    return messages


def _time_off_clashes(periods: list[dict[str, Any]]) -> list[str]:
    ordered = sorted(range(len(periods)), key=lambda i: periods[i]["starts_at"])
    messages = []
    for x, y in itertools.pairwise(ordered):
        if periods[y]["starts_at"] < periods[x]["ends_at"]:
            a, b = sorted((periods[x].get("_index", x), periods[y].get("_index", y)))
            messages.append(f"time off {a} and {b} overlap")
    return messages


def document_validate(document: Any) -> ValidDocument:
    """Validate the whole document, collecting every error; raises :class:`ConfigValidationError`."""
    errors: ErrorTree = {}
    if not isinstance(document, Mapping):
        raise ConfigValidationError(
            {"non_field_errors": ["the configuration must be a JSON object"]}
        )
    for key in document:
        # based_on_version is checked by the writer (a stale one is a 412, not a 400).
        if key not in ("version", "based_on_version") and key not in COLLECTIONS:
            error_add(errors, [str(key)], [f"unknown field '{key}'"])
    if "version" in document and document["version"] != DOCUMENT_FORMAT:
        error_add(errors, ["version"], [f"unsupported document version; use {DOCUMENT_FORMAT}"])

    valid = ValidDocument()
    complete: dict[str, list[bool]] = {}
    for collection, serializer_class in ITEM_SERIALIZERS.items():
        raw_items = document.get(collection, [])
        items: list[dict[str, Any]] = getattr(valid, collection)
        complete[collection] = []
        if not isinstance(raw_items, list):
            error_add(errors, [collection], [f"{collection} must be a list"])
            continue
        for i, raw in enumerate(raw_items):
            serializer = serializer_class(data=raw)
            if serializer.is_valid():
                items.append(dict(serializer.validated_data))
                complete[collection].append(True)
            else:
                error_add(errors, [collection, str(i)], _plain(serializer.errors))
                items.append(_best_effort(serializer_class, raw, set(serializer.errors)))
                complete[collection].append(False)

    _cross_check(valid, errors)
    paths = error_paths(errors)
    _engine_check(valid, errors, paths)
    if errors:
        exc = ConfigValidationError(errors)
        exc.paths = paths
        raise exc
    return valid


def error_paths(tree: Any, prefix: str = "") -> dict[str, list[str]]:
    """An error tree flattened to dotted paths (``rules.2.strategy``); ``non_field_errors``
    belong to their parent's path."""
    out: dict[str, list[str]] = {}
    if isinstance(tree, Mapping):
        for key, value in tree.items():
            path = prefix if key == "non_field_errors" else f"{prefix}.{key}".lstrip(".")
            for sub, messages in error_paths(value, path).items():
                out.setdefault(sub, []).extend(messages)
    else:
        out[prefix] = [str(m) for m in (tree if isinstance(tree, list) else [tree])]
    return out


def _duplicates(
    items: list[dict[str, Any]], key: str, collection: str, errors: ErrorTree, label: str
) -> None:
    counts = Counter(item.get(key) for item in items if item.get(key) is not None)
    seen: set[Any] = set()
    for i, item in enumerate(items):
        value = item.get(key)
        if value is None:
            continue
        if counts[value] > 1 and value in seen:
            error_add(errors, [collection, str(i), key], [f"duplicate {label} '{value}'"])
        seen.add(value)


def _cross_check(valid: ValidDocument, errors: ErrorTree) -> None:
    # Duplicate territory codes, usernames, unknown parents and rep territories: the engine.
    _duplicates(valid.accounts, "domain", "accounts", errors, "account domain")
    _duplicates(valid.rules, "name", "rules", errors, "rule name")
    _duplicates(valid.rules, "key", "rules", errors, "rule key")
    usernames = {r["username"] for r in valid.reps if "username" in r}
    for i, account in enumerate(valid.accounts):
        owner = account.get("owner")
        if owner is not None and owner not in usernames:
            error_add(errors, ["accounts", str(i), "owner"], [f"unknown rep '{owner}'"])
    for i, rep in enumerate(valid.reps):
        for message in _working_hours_clashes(rep.get("working_hours", [])):
            error_add(errors, ["reps", str(i), "working_hours"], [message])
        for message in _time_off_clashes(rep.get("time_off", [])):
            error_add(errors, ["reps", str(i), "time_off"], [message])


def _engine_check(
    valid: ValidDocument, errors: ErrorTree, paths: dict[str, list[str]] | None = None
) -> None:
    """Territory tree, rep references and every rule, by the engine that will run them.

    ``errors`` gets them at the API's depth (``rules.2.conditions``); ``paths`` at the engine's
    own (``rules.2.conditions.0.value``), for editors that point at the very condition."""
    utc = datetime.UTC
    territories = tuple(
        TerritoryDef(
            code=t.get("code", ""),
            name=t.get("name", ""),
            parent=t.get("parent"),
            countries=frozenset(t.get("countries", [])),
            regions=frozenset(t.get("regions", [])),
            postal_prefixes=tuple(t.get("postal_prefixes", [])),
        )
        for t in valid.territories
    )
    reps = tuple(
        RepProfile(
            rep_id=i + 1,
            username=r.get("username", f"#invalid-{i}"),
            time_zone=r.get("time_zone", "UTC"),
            active=r.get("active", True),
            territories=frozenset(r.get("territories", [])),
            weight=r.get("weight", 1),
            working_hours=tuple(
                WorkingWindow(weekdays=frozenset(w["weekdays"]), start=w["start"], end=w["end"])
                for w in r.get("working_hours", [])
            ),
            time_off=tuple(
                TimeOffPeriod(
                    starts_at=t["starts_at"].astimezone(utc), ends_at=t["ends_at"].astimezone(utc)
                )
                for t in r.get("time_off", [])
            ),
        )
        for i, r in enumerate(valid.reps)
    )
    rules = tuple(
        RuleDef(
            rule_id=i + 1,
            name=r.get("name", f"#invalid-{i}"),
            position=i,
            active=r.get("active", True),
            conditions=r.get("conditions", []),
            target=r.get("target"),
            strategy=r.get(
                "strategy",
                Strategy.ACCOUNT_OWNER if r.get("target") is None else Strategy.ROUND_ROBIN,
            ),
            sla_minutes=r.get("sla_minutes"),
            respect_working_hours=r.get("respect_working_hours", False),
            require_skill_from=r.get("require_skill_from"),
            require_language=r.get("require_language", False),
            when_no_one_eligible=r.get("when_no_one_eligible", NoOneEligible.NEXT_RULE),
            sla_business_hours=r.get("sla_business_hours"),
        )
        for i, r in enumerate(valid.rules)
    )
    try:
        compile_config(ConfigSnapshot(version=0, territories=territories, reps=reps, rules=rules))
    except ConfigError as exc:
        for path, messages in exc.errors.items():
            error_add(errors, _engine_path(path), list(messages))
            if paths is not None:
                paths.setdefault(path, []).extend(messages)
