"""Admin edits of the configuration go through the document's checks (API.md), like the API.

A territory, rep, account or rule form validates the whole configuration as it would be after
the save (the same :func:`document_validate` as ``PUT /api/routing/config/``) and shows what
would break as a form error instead of saving a configuration that no longer compiles. The form
carries the configuration version it was opened on and refuses a stale save unless "save
anyway" is ticked. Deleting is refused on the confirmation page while something refers to the
object, or while a rule still owns open leads.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from django import forms
from django.db import connection, transaction

from apps.rules.models import RoutingRule

from .appliers import open_leads_by_rule, row_save
from .document import document_validate
from .export import config_version_number, routing_config_export, rule_item
from .items import COLLECTIONS, ConfigValidationError
from .versions import ConfigVersionConflict, config_version_check

__all__ = [
    "ConfigAdminMixin",
    "ConfigItemFormMixin",
    "config_problems",
    "territory_references_rename",
    "territory_renamed_in_rule",
]

SINGULAR = {"territories": "Territory", "reps": "Rep", "accounts": "Account", "rules": "Rule"}


def _messages(tree: Any, document: Mapping[str, Any], prefix: str = "") -> list[str]:
    """Error tree -> sentences naming items by their key: ``Rule 'Enterprise West' target: ...``."""
    if not isinstance(tree, Mapping):
        items = tree if isinstance(tree, list) else [tree]
        return [f"{prefix}: {m}" if prefix else str(m) for m in items]
    out: list[str] = []
    for key, value in tree.items():
        if not prefix and key in COLLECTIONS and isinstance(value, Mapping):
            for index, sub in value.items():
                try:
                    name = document[key][int(index)][COLLECTIONS[key]]
                    label = f"{SINGULAR[key]} '{name}'"
                except (KeyError, IndexError, ValueError, TypeError):
                    label = f"{key}.{index}"
                out.extend(_messages(sub, document, label))
            continue
        if key == "non_field_errors":
            out.extend(_messages(value, document, prefix))
        else:
            out.extend(_messages(value, document, f"{prefix} {key}".strip()))
    return out


def config_problems(document: dict[str, Any]) -> list[str]:
    """What would break if the configuration became ``document``; empty when it is valid."""
    try:
        document_validate(document)
    except ConfigValidationError as exc:
        return _messages(exc.detail, document)
    return []


def _pruned(tree: Any, path: list[str]) -> Any:
    """``tree`` without the subtree at ``path`` (a copy; empty parents dropped)."""
    if not isinstance(tree, Mapping) or path[0] not in tree:
        return tree
    out = dict(tree)
    if len(path) == 1:
        del out[path[0]]
    else:
        out[path[0]] = _pruned(out[path[0]], path[1:])
        if not out[path[0]]:
            del out[path[0]]
    return out


def _item_index(items: list[Any], item: Any, key_field: str) -> int:
    for i, entry in enumerate(items):
        if entry is item:
            return i
    matches = [i for i, e in enumerate(items) if e.get(key_field) == item.get(key_field)]
    return matches[-1] if matches else len(items) - 1


# --- territory renames -------------------------------------------------------------------------


def _renamed_conditions(conditions: Any, old: str, new: str) -> Any:
    if isinstance(conditions, list):
        return [_renamed_conditions(c, old, new) for c in conditions]
    if not isinstance(conditions, dict):
        return conditions
    out = dict(conditions)
    if "any" in out:
        out["any"] = _renamed_conditions(out["any"], old, new)
    if out.get("field") == "territory":
        value = out.get("value")
        if value == old:
            out["value"] = new
        elif isinstance(value, list):
            out["value"] = [new if v == old else v for v in value]
    return out


def territory_renamed_in_rule(item: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    """A rule item with every reference to territory ``old`` (target, conditions) -> ``new``."""
    out = dict(item)
    out["conditions"] = _renamed_conditions(item.get("conditions") or [], old, new)
    target = item.get("target")
    if isinstance(target, dict) and target.get("territory") == old:
        out["target"] = {**target, "territory": new}
    return out


def territory_references_rename(*, old: str, new: str, actor: Any) -> list[str]:
    """Point every rule naming territory ``old`` at ``new`` (renamed); returns their names.

    Reps and child territories refer to a territory by id and follow on their own.
    """
    changed = []
    with transaction.atomic():
        for rule in RoutingRule.objects.select_for_update().order_by("position", "id"):
            item = rule_item(rule)
            renamed = territory_renamed_in_rule(item, old, new)
            if renamed != item:
                rule.conditions, rule.target = renamed["conditions"], renamed["target"]
                row_save(rule, actor)
                changed.append(rule.name)
    return changed


# --- forms -------------------------------------------------------------------------------------


class ConfigItemFormMixin(forms.Form):
    """A ModelForm mixin: checks the whole configuration as it would be after this save.

    Subclasses set ``config_collection`` and implement :meth:`config_item` (cleaned data -> the
    document item).
    """

    config_collection: str = ""
    #: item fields whose errors are shown on the field itself (with their paths for its widget)
    config_inline_fields: tuple[str, ...] = ()

    based_on_version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=0)
    save_anyway = forms.BooleanField(
        required=False,
        label="Save anyway",
        help_text="The configuration changed since this form was opened; tick to save over it.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial["based_on_version"] = config_version_number()

    def config_item(self, cleaned: Mapping[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def config_inline_error(self, field: str, path: str, message: str) -> str:
        """The words shown on ``field`` for an error at ``path`` inside it ("" = the field)."""
        return f"{path}: {message}" if path else message

    def config_key(self) -> str | None:
        """The item's key in the live document (as saved), None when adding."""
        instance = getattr(self, "instance", None)
        if instance is None or instance.pk is None:
            return None
        saved = type(instance).objects.get(pk=instance.pk)
        return str(getattr(saved, COLLECTIONS[self.config_collection]))

    def config_document(self, item: dict[str, Any], old_key: str | None) -> dict[str, Any]:
        """The live document with this item replaced (or added)."""
        document = routing_config_export()
        key_field = COLLECTIONS[self.config_collection]
        items = document[self.config_collection]
        keys = [i[key_field] for i in items]
        if old_key is not None and old_key in keys:
            items[keys.index(old_key)] = item
        else:
            items.append(item)
        return document

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        if connection.in_atomic_block:  # the admin's save runs in one transaction: lock it
            try:
                config_version_check(
                    based_on=cleaned.get("based_on_version"),
                    force=bool(cleaned.get("save_anyway")),
                )
            except ConfigVersionConflict as exc:
                raise forms.ValidationError(
                    f"{exc.message} Tick “Save anyway” to save over it.", code="stale_version"
                ) from exc
        old_key = self.config_key()
        try:
            item = self.config_item(cleaned)
        except (KeyError, AttributeError, TypeError):
            return cleaned  # a field error is already shown
        document = self.config_document(item, old_key)
        try:
            document_validate(document)
        except ConfigValidationError as exc:
            tree = self._config_inline_errors(exc, document, item)
            problems = _messages(tree, document)
            if problems:
                raise forms.ValidationError(
                    ["This change would stop routing:", *problems], code="config_invalid"
                ) from exc
        return cleaned

    def _config_inline_errors(
        self, exc: ConfigValidationError, document: dict[str, Any], item: dict[str, Any]
    ) -> Any:
        """Put this item's errors on ``config_inline_fields``; returns the rest of the tree.

        Each such field's widget gets them by path inside the field (``{"0.value": [...]}``) as
        its ``data-error-paths`` attribute, so an editor can point at the very condition.
        """
        tree: Any = exc.detail
        collection = self.config_collection
        index = _item_index(document[collection], item, COLLECTIONS[collection])
        paths = exc.paths or {}
        for name in self.config_inline_fields:
            prefix = f"{collection}.{index}.{name}"
            found = {
                path.removeprefix(prefix).lstrip("."): messages
                for path, messages in paths.items()
                if path == prefix or path.startswith(prefix + ".")
            }
            if not found:
                continue
            self.add_error(
                name,
                [
                    self.config_inline_error(name, path, message)
                    for path, messages in found.items()
                    for message in messages
                ],
            )
            if name in self.fields:
                self.fields[name].widget.attrs["data-error-paths"] = json.dumps(found)
            tree = _pruned(tree, [collection, str(index), name])
        return tree


class ConfigAdminMixin:
    """ModelAdmin mixin: deleting is refused (listed as protected) while it breaks routing."""

    config_collection: str = ""

    def get_fieldsets(self, request: Any, obj: Any = None) -> Any:
        fieldsets = list(super().get_fieldsets(request, obj))  # type: ignore[misc]
        guard = ["based_on_version", "save_anyway"]
        if not any(name in guard for _, opts in fieldsets for name in opts.get("fields", [])):
            fieldsets.append(("Concurrent edits", {"fields": guard}))
        return fieldsets

    def config_key_of(self, obj: Any) -> str:
        return str(getattr(obj, COLLECTIONS[self.config_collection]))

    def config_delete_problems(self, objs: Iterable[Any]) -> list[str]:
        objs = list(objs)
        document = routing_config_export()
        keys = {self.config_key_of(obj) for obj in objs}
        key_field = COLLECTIONS[self.config_collection]
        document[self.config_collection] = [
            i for i in document[self.config_collection] if i[key_field] not in keys
        ]
        problems = [f"Routing would break: {p}" for p in config_problems(document)]
        if self.config_collection == "rules":
            open_leads = open_leads_by_rule([obj.pk for obj in objs])
            problems += [
                f"Rule '{obj.name}' still owns {open_leads[obj.pk]} open lead(s) (assigned or "
                "contacted); reassign them first."
                for obj in objs
                if obj.pk in open_leads
            ]
        return problems

    def get_deleted_objects(self, objs: Any, request: Any) -> Any:
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)  # type: ignore[misc]
        problems = self.config_delete_problems(objs)
        if problems:
            # Shown first: what breaks routing matters more than a missing delete permission.
            return deleted, counts, set(), [*problems, *protected]
        return deleted, counts, perms_needed, protected
