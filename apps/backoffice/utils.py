"""Shared admin helpers: read-only admins, pretty JSON, list-as-text form fields, badges."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms.fields import InvalidJSONInput
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html

from apps.configuration.services import config_version_record

WEEKDAY_CHOICES = [
    (0, "Mon"),
    (1, "Tue"),
    (2, "Wed"),
    (3, "Thu"),
    (4, "Fri"),
    (5, "Sat"),
    (6, "Sun"),
]
EMPTY = "-"  # the admin's own empty_value_display


def pretty_json(value: Any) -> str:
    """Pretty-printed JSON inside a <pre>, for read-only detail pages."""
    text = json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False, default=str)
    return format_html('<pre class="rp-json">{}</pre>', text)


def short_dt(value: datetime | None) -> str:
    """`2026-11-23 11:26` in the current time zone: narrow enough for list columns."""
    if value is None:
        return EMPTY
    return format_html(
        '<span title="{}" style="white-space:nowrap">{}</span>',
        timezone.localtime(value).isoformat(timespec="seconds"),
        timezone.localtime(value).strftime("%Y-%m-%d %H:%M"),
    )


def compact_list(values: Iterable[Any] | None, limit: int = 6) -> str:
    """`US, CA, MX +3` for a list column; an em dash for an empty one."""
    items = [str(v) for v in (values or [])]
    if not items:
        return EMPTY
    shown = ", ".join(items[:limit])
    return f"{shown} +{len(items) - limit}" if len(items) > limit else shown


def weekdays_label(days: Iterable[int] | None) -> str:
    """`Mon–Fri` for consecutive days, else `Mon, Wed, Fri`."""
    names = dict(WEEKDAY_CHOICES)
    ordered = sorted({d for d in (days or []) if d in names})
    if not ordered:
        return EMPTY
    if len(ordered) > 2 and ordered == list(range(ordered[0], ordered[-1] + 1)):
        return f"{names[ordered[0]]}–{names[ordered[-1]]}"
    return ", ".join(names[d] for d in ordered)


def badge(text: str, colour: str) -> str:
    return format_html(
        '<span style="display:inline-block;padding:1px 7px;border-radius:9px;'
        'background:{};color:#fff;font-size:11px;font-weight:600;white-space:nowrap">{}</span>',
        colour,
        text,
    )


class CommaSeparatedListField(forms.CharField):
    """Edits a JSON list of strings as `a, b, c` text; blanks and repeats are dropped."""

    def __init__(
        self,
        *,
        normalise: Callable[[str], str] = str.strip,
        item_validator: Callable[[str], None] | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", forms.TextInput(attrs={"size": 60}))
        super().__init__(**kwargs)
        self.normalise = normalise
        self.item_validator = item_validator

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return ", ".join(str(v) for v in value)
        return value

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        if isinstance(value, list | tuple):
            raw = [str(v) for v in value]
        else:
            raw = str(value or "").replace("\n", ",").split(",")
        items: list[str] = []
        for part in raw:
            item = self.normalise(part.strip())
            if item and item not in items:
                items.append(item)
        return items

    def validate(self, value: Any) -> None:
        if self.required and not value:
            raise ValidationError(self.error_messages["required"], code="required")
        if self.item_validator is None:
            return
        errors: list[ValidationError] = []
        for item in value:
            try:
                self.item_validator(item)
            except ValidationError as exc:
                errors.extend(exc.error_list)
        if errors:
            raise ValidationError(errors)

    def run_validators(self, value: Any) -> None:
        # CharField's max/min length validators do not apply to a list.
        return None

    def has_changed(self, initial: Any, data: Any) -> bool:
        return list(initial or []) != self.to_python(data)


class PrettyJSONFormField(forms.JSONField):
    """A JSON textarea that shows the stored value indented, for hand editing."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "widget",
            forms.Textarea(
                attrs={"rows": 14, "cols": 90, "class": "rp-json-input", "spellcheck": "false"}
            ),
        )
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, InvalidJSONInput):
            return value
        if value is None:
            return ""
        return json.dumps(value, indent=2, ensure_ascii=False, cls=self.encoder)


class WeekdaysField(forms.TypedMultipleChoiceField):
    """Weekday checkboxes stored as a JSON list of ints (0 = Monday)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("choices", WEEKDAY_CHOICES)
        kwargs.setdefault("coerce", int)
        kwargs.setdefault("widget", forms.CheckboxSelectMultiple(attrs={"class": "rp-weekdays"}))
        super().__init__(**kwargs)

    def clean(self, value: Any) -> list[int]:
        return sorted(super().clean(value))


class ReadOnlyAdminMixin:
    """Viewable, never added, changed or deleted through the admin (audit records)."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)  # type: ignore[misc]
        actions.pop("delete_selected", None)
        return actions


class SuperuserOnlyAdminMixin:
    """Hidden from managers (no section, no page: 403); superusers see and edit as before."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser and super().has_module_permission(request)  # type: ignore[misc]

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser and super().has_view_permission(request, obj)  # type: ignore[misc]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return request.user.is_superuser and super().has_add_permission(request, *args)  # type: ignore[misc]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser and super().has_change_permission(request, obj)  # type: ignore[misc]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser and super().has_delete_permission(request, obj)  # type: ignore[misc]


class ReadOnlyInlineMixin:
    """A read-only inline: rows shown, none added, changed or deleted."""

    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def all_field_names(model: Any) -> list[str]:
    """Every concrete field (and FK) of a model, for read-only admins."""
    return [f.name for f in model._meta.get_fields() if f.concrete and not f.many_to_many]


__all__ = [
    "EMPTY",
    "WEEKDAY_CHOICES",
    "CommaSeparatedListField",
    "ConfigVersionAdminMixin",
    "PrettyJSONFormField",
    "ReadOnlyAdminMixin",
    "ReadOnlyInlineMixin",
    "WeekdaysField",
    "all_field_names",
    "badge",
    "compact_list",
    "pretty_json",
    "short_dt",
    "weekdays_label",
]


class ConfigVersionAdminMixin:
    """Records a routing config version after every add, change and delete in the admin.

    `log_addition`/`log_change` run after the object and its inlines are saved; deletions are
    recorded from `delete_model`/`delete_queryset`, which run after `log_deletion(s)`.
    """

    def _config_version(self, request: HttpRequest, what: str) -> None:
        config_version_record(actor=request.user, source="admin", summary=what[:500])

    def _label(self, obj: Any) -> str:
        return f"{obj._meta.verbose_name} {obj}"

    def log_addition(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        entry = super().log_addition(request, obj, message)  # type: ignore[misc]
        self._config_version(request, f"{self._label(obj)} added")
        return entry

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        entry = super().log_change(request, obj, message)  # type: ignore[misc]
        self._config_version(request, f"{self._label(obj)} changed")
        return entry

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        label = self._label(obj)
        super().delete_model(request, obj)  # type: ignore[misc]
        self._config_version(request, f"{label} deleted")

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        count = len(queryset)
        super().delete_queryset(request, queryset)  # type: ignore[misc]
        self._config_version(request, f"{count} {queryset.model._meta.verbose_name_plural} deleted")
