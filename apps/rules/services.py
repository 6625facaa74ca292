"""Rule changes: each goes through the configuration document and records a version."""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.db import transaction
from rest_framework.exceptions import ValidationError

from apps.routing.config import (
    config_version_check,
    routing_config_apply,
    routing_config_export,
    routing_config_item_delete,
    routing_config_item_put,
)
from apps.routing.models import RoutingConfigVersion
from apps.rules.models import RoutingRule

__all__ = ["rule_delete", "rule_reorder", "rule_save"]


def rule_save(
    *,
    name: str | None,
    item: dict[str, Any],
    actor: Any,
    position: int | None = None,
    based_on: int | None = None,
    force: bool = False,
) -> RoutingConfigVersion:
    """Create (``name`` None) or replace the rule called ``name`` (it may be renamed; it keeps
    its id and key). ``position`` moves it (0 = first); a new rule goes last by default."""
    return routing_config_item_put(
        collection="rules",
        key=name,
        item=item,
        actor=actor,
        position=position,
        based_on=based_on,
        force=force,
    )


def rule_delete(
    *, name: str, actor: Any, based_on: int | None = None, force: bool = False
) -> RoutingConfigVersion:
    """Delete a rule; refused while it owns open leads (assigned, contacted) unless ``force``."""
    return routing_config_item_delete(
        collection="rules", key=name, actor=actor, based_on=based_on, force=force
    )


def rule_reorder(
    *, order: list[int], actor: Any, based_on: int | None = None, force: bool = False
) -> RoutingConfigVersion:
    """Put the rules in ``order`` (every rule id exactly once); records a "reorder" version."""
    with transaction.atomic():
        # Lock before reading, so a concurrent rule edit is not undone by this reorder.
        config_version_check(based_on=based_on, force=force)
        document = routing_config_export()
        ids = list(RoutingRule.objects.order_by("position", "id").values_list("id", flat=True))
        counts = Counter(order)
        problems = []
        missing = [i for i in ids if i not in counts]
        unknown = [i for i in counts if i not in set(ids)]
        repeated = [i for i, n in counts.items() if n > 1]
        if missing:
            problems.append(f"missing rule ids {missing}")
        if unknown:
            problems.append(f"unknown rule ids {unknown}")
        if repeated:
            problems.append(f"repeated rule ids {repeated}")
        if problems:
            raise ValidationError(
                {"order": ["must list every rule id exactly once: " + "; ".join(problems)]}
            )
        by_id = dict(zip(ids, document["rules"], strict=True))
        document["rules"] = [by_id[i] for i in order]
        return routing_config_apply(
            document=document, actor=actor, source=RoutingConfigVersion.Source.REORDER
        )
