"""Where a new rule goes: top, before a named rule, or bottom; by default before the first
catch-all rule (no conditions), so a new rule is never silently hidden behind one."""

from __future__ import annotations

from typing import Any

from django import forms

from apps.rules.models import RoutingRule
from apps.rules.selectors import rule_list

__all__ = ["PlacementFormMixin", "placement_choices", "placement_default"]

TOP, BOTTOM, BEFORE = "top", "bottom", "before:"


def _ordered() -> list[RoutingRule]:
    return list(rule_list().order_by("position", "id"))


def placement_choices(rules: list[RoutingRule]) -> list[tuple[str, str]]:
    choices = [(TOP, "At the top (evaluated first)")]
    for rule in rules:
        catch_all = " — catch-all, takes every lead" if not rule.conditions else ""
        # "#" is the rule's position, as in the rules list's "#" column
        choices.append((f"{BEFORE}{rule.pk}", f"Before #{rule.position} {rule.name}{catch_all}"))
    choices.append((BOTTOM, "At the bottom (evaluated last)"))
    return choices


def placement_default(rules: list[RoutingRule]) -> str:
    """Before the first rule with no conditions (it takes every lead it sees), else the bottom."""
    for rule in rules:
        if not rule.conditions:
            return f"{BEFORE}{rule.pk}"
    return BOTTOM


class PlacementFormMixin(forms.Form):
    """A rule form mixin: a ``placement`` choice on the add form only."""

    placement = forms.ChoiceField(
        label="Place the new rule",
        required=False,
        help_text="Rules are evaluated in order and the first that assigns a lead wins: a rule "
        "placed after a catch-all rule never fires.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        instance = getattr(self, "instance", None)
        if instance is not None and instance.pk is not None:
            del self.fields["placement"]
            return
        self._rules = _ordered()
        field = self.fields["placement"]
        field.choices = placement_choices(self._rules)  # type: ignore[attr-defined]
        field.required = True
        self.initial.setdefault("placement", placement_default(self._rules))

    def placement_index(self) -> int:
        """The new rule's index among the rules (0 = first), for ``rule_save(position=...)``."""
        choice = self.cleaned_data.get("placement") or BOTTOM
        ids = [rule.pk for rule in _ordered()]  # as saved now, under the configuration lock
        if choice == TOP:
            return 0
        if choice.startswith(BEFORE):
            rule_id = int(choice.removeprefix(BEFORE))
            if rule_id in ids:
                return ids.index(rule_id)
        return len(ids)
