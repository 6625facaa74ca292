"""Write side of the configuration document: apply it atomically and record versions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction

from .appliers import accounts_apply, reps_apply, rules_apply, territories_apply
from .document import ValidDocument, document_validate
from .export import (
    export_parts,
)
from .items import COLLECTIONS, ConfigValidationError
from .models import RoutingConfigVersion
from .versions import (
    ConfigVersionConflict,
    based_on_number,
    config_version_check,
    config_version_record,
    version_create,
)

__all__ = [
    "ConfigVersionConflict",
    "config_version_check",
    "config_version_record",
    "routing_config_apply",
    "routing_config_item_delete",
    "routing_config_item_put",
]


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
        based_on = based_on_number(document["based_on_version"], "based_on_version")
    with transaction.atomic():
        config_version_check(based_on=based_on, force=force)
        parts = [
            ("territories", territories_apply(valid.territories, actor)),
            ("reps", reps_apply(valid.reps, actor)),
            ("accounts", accounts_apply(valid.accounts, actor)),
            ("rules", rules_apply(valid.rules, actor, force=force)),
        ]
        # Removing reps comes after accounts moved away from them; territories after reps left.
        texts = [text for name, tally in parts if (text := tally.text(name))]
        summary = "; ".join(texts) or "no changes"
        return version_create(actor=actor, source=source, summary=summary, note=note)


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
        document, _ = export_parts()
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
        document, _ = export_parts()
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
