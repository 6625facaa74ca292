"""The rule form's condition builder and target picker (#14): widgets over the JSON fields, the
options they offer, and the words for a validation error at a path inside a rule.

The JSON textarea stays the value the form submits (and works without JavaScript); the builder
(static/backoffice/rule_builder.js, with rule_conditions.js and rule_target.js) edits it as
rows. Fields, ops and what each op's value must be come from the engine's grammar
(:func:`apps.engine.condition_grammar`), so the builder offers exactly what the compiler
accepts, and saving checks it exactly as the API does.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import pycountry
from django import forms
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, JsonResponse
from django.urls import reverse

from apps.core.validators import normalize_country
from apps.engine import condition_grammar
from apps.leads.selectors import lead_source_list_seen
from apps.reps.selectors import rep_list
from apps.rules.models import Strategy
from apps.rules.summaries import OP_LABELS, conditions_summary
from apps.territories.selectors import territory_list

__all__ = [
    "ConditionsBuilderWidget",
    "TargetPickerWidget",
    "condition_error_words",
    "rule_builder_options",
    "rule_builder_options_view",
    "target_error_words",
]

#: fields whose values come from a list rather than free typing; the rest follow their kind
FIELD_PICKERS = {
    "country": "country",
    "region": "region",
    "territory": "territory",
    "lead_source": "source",
    "language": "language",
}
#: how many distinct lead sources the picker suggests
SOURCES_CAP = 200
_PATH_WORDS = {"field": "field", "op": "operator", "value": "value"}


@functools.cache
def _countries() -> list[list[str]]:
    named = ((getattr(c, "common_name", None) or c.name, c.alpha_2) for c in pycountry.countries)
    return [[code, name] for name, code in sorted(named)]


@functools.cache
def _languages() -> list[list[str]]:
    named = (
        (lang.name, lang.alpha_2) for lang in pycountry.languages if getattr(lang, "alpha_2", None)
    )
    return [[code.lower(), name] for name, code in sorted(named)]


@functools.cache
def _regions(country: str) -> list[list[str]]:
    subs = pycountry.subdivisions.get(country_code=country) or ()
    return [[s.code.upper(), s.name] for s in sorted(subs, key=lambda s: s.code)]


def rule_builder_options() -> dict[str, Any]:
    """What the builder offers: the grammar, labels, countries, territories, reps, sources.

    Regions are per country (:func:`rule_builder_options_view` with ``?country=``): the whole
    ISO 3166-2 list is thousands of entries.
    """
    grammar = condition_grammar()
    fields = [
        {**f, "picker": FIELD_PICKERS.get(f["name"], f["kind"])} for f in grammar.pop("fields")
    ]
    return {
        "grammar": grammar,
        "fields": fields,
        "op_labels": {**OP_LABELS, "exists": "exists"},
        "countries": _countries(),
        "languages": _languages(),
        "territories": [
            [t.code, t.name, t.parent.code if t.parent else None] for t in territory_list()
        ],
        "reps": [
            [rep.user.username, rep.name, rep.weight, rep.active]
            for rep in rep_list().prefetch_related(None)
        ],
        "sources": lead_source_list_seen(limit=SOURCES_CAP),
        "strategies": [[value, label] for value, label in Strategy.choices],
    }


def rule_builder_options_view(request: HttpRequest, *, model_admin: Any) -> JsonResponse:
    """GET: the options as JSON; ``?country=US``: that country's regions. Rule editors only."""
    if not (model_admin.has_change_permission(request) or model_admin.has_add_permission(request)):
        raise PermissionDenied
    if request.method != "GET":
        return JsonResponse(
            {"detail": "Only GET is allowed."}, status=405, headers={"Allow": "GET"}
        )
    country = request.GET.get("country")
    if country is not None:
        try:
            code = normalize_country(country)
        except forms.ValidationError as exc:
            return JsonResponse({"country": exc.messages}, status=400)
        return JsonResponse({"country": code, "regions": _regions(code)})
    return JsonResponse(rule_builder_options())


class _BuilderWidget(forms.Textarea):
    """The JSON textarea inside a box the builder script fills; without JS the textarea shows."""

    # Under the app's templates/: Django's form renderer looks in the apps, not in TEMPLATES' DIRS.
    template_name = "backoffice/rule_builder_widget.html"
    builder = ""

    class Media:
        css = {"all": ["backoffice/rule_builder.css"]}
        js = [
            "backoffice/rule_builder.js",  # the shared box first: the editors register on it
            "backoffice/rule_conditions.js",
            "backoffice/rule_target.js",
        ]

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        defaults = {"rows": 10, "cols": 90, "class": "rp-json-input", "spellcheck": "false"}
        super().__init__({**defaults, **(attrs or {})})

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        context["widget"]["builder"] = self.builder
        context["widget"]["options_url"] = reverse("admin:rules_routingrule_builder_options")
        return context


class ConditionsBuilderWidget(_BuilderWidget):
    builder = "conditions"


class TargetPickerWidget(_BuilderWidget):
    builder = "target"


def _condition_at(conditions: Any, parts: list[str]) -> tuple[str, Any, list[str]]:
    """Walk ``0.any.1`` into the conditions: (its words, the condition, the rest of the path)."""
    words, node, rest = "", None, list(parts)
    if rest and rest[0].isdigit() and isinstance(conditions, list):
        index = int(rest.pop(0))
        words = f"Condition {index + 1}"
        node = conditions[index] if index < len(conditions) else None
        while len(rest) >= 2 and rest[0] in ("any", "all") and rest[1].isdigit():
            group, index = rest.pop(0), int(rest.pop(0))
            members = node.get(group) if isinstance(node, Mapping) else None
            kind = "any of" if group == "any" else "all of"
            words += f", {kind} {index + 1}"
            node = members[index] if isinstance(members, list) and index < len(members) else None
    return words, node, rest


def condition_error_words(conditions: Any, path: str, message: str) -> str:
    """``Condition 2 (company_size ≥ "many"), value: 'gte' needs a number, got 'many'``."""
    if not path:
        return message
    words, node, rest = _condition_at(conditions, path.split("."))
    if not words:
        return f"{path}: {message}"
    if node is not None:
        words += f" ({conditions_summary([node])})"
    tail = ".".join(rest)
    return f"{words}, {_PATH_WORDS.get(tail, tail)}: {message}" if tail else f"{words}: {message}"


def target_error_words(target: Any, path: str, message: str) -> str:
    """``Rep 2 (zed): unknown rep 'zed'``, ``Territory: unknown territory 'US-EAST'``."""
    parts = path.split(".") if path else []
    if len(parts) >= 2 and parts[0] == "reps" and parts[1].isdigit():
        index = int(parts[1])
        reps = target.get("reps") if isinstance(target, Mapping) else None
        entry = reps[index] if isinstance(reps, list) and index < len(reps) else None
        name = entry.get("username") if isinstance(entry, Mapping) else entry
        label = f"Rep {index + 1}" + (f" ({name})" if isinstance(name, str) and name else "")
        return f"{label}: {message}"
    if parts == ["territory"]:
        return f"Territory: {message}"
    return f"{path}: {message}" if path else message
