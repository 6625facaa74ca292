"""Validate a rule's conditions, target and options with the engine's own compiler."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from apps.rules.models import RoutingRule


def rule_validation_errors(rule: RoutingRule) -> dict[str, list[str]]:
    """Errors keyed by model field, checked against the live territories, reps and rules."""
    from apps.routing.selectors import config_snapshot_validate_rule

    return config_snapshot_validate_rule(rule=rule)
