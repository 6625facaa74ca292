"""The one write path of territories, reps, accounts and rules: each change goes through the
configuration document (validated whole) and records a version."""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.db import transaction
from rest_framework.exceptions import ValidationError

from apps.rules.models import RoutingRule

from .apply import (
    ConfigVersionConflict,
    config_version_check,
    config_version_record,
    routing_config_apply,
    routing_config_item_delete,
    routing_config_item_put,
)
from .export import routing_config_export
from .models import RoutingConfigVersion

__all__ = [
    "ConfigVersionConflict",
    "account_delete",
    "account_save",
    "config_version_check",
    "config_version_record",
    "rep_delete",
    "rep_save",
    "routing_config_apply",
    "routing_config_item_delete",
    "routing_config_item_put",
    "routing_config_restore",
    "rule_delete",
    "rule_move",
    "rule_order_after_move",
    "rule_reorder",
    "rule_save",
    "territory_delete",
    "territory_save",
]


def territory_save(*, code: str | None, item: dict[str, Any], actor: Any) -> RoutingConfigVersion:
    """Create (``code`` None) or replace a territory; the whole configuration is re-validated."""
    return routing_config_item_put(collection="territories", key=code, item=item, actor=actor)


def territory_delete(*, code: str, actor: Any) -> RoutingConfigVersion:
    """Delete a territory; refused while reps, rules or child territories refer to it."""
    return routing_config_item_delete(collection="territories", key=code, actor=actor)


def rep_save(*, username: str | None, item: dict[str, Any], actor: Any) -> RoutingConfigVersion:
    """Create (``username`` None; the login is created if missing) or replace a rep."""
    return routing_config_item_put(collection="reps", key=username, item=item, actor=actor)


def rep_delete(*, username: str, actor: Any) -> RoutingConfigVersion:
    """Delete a rep, or deactivate them while they still have leads (see the version summary)."""
    return routing_config_item_delete(collection="reps", key=username, actor=actor)


def account_save(*, domain: str | None, item: dict[str, Any], actor: Any) -> RoutingConfigVersion:
    """Create (``domain`` None) or replace an account."""
    return routing_config_item_put(collection="accounts", key=domain, item=item, actor=actor)


def account_delete(*, domain: str, actor: Any) -> RoutingConfigVersion:
    return routing_config_item_delete(collection="accounts", key=domain, actor=actor)


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


def routing_config_restore(
    *, number: int, actor: Any, based_on: int | None, force: bool = False
) -> RoutingConfigVersion:
    """Make version ``number``'s document the live configuration again, as a new version.

    Goes through :func:`routing_config_apply`: the same validation (a document that no longer
    holds, say naming a rule that still owns open leads, is refused with every reason) and the
    same stale-version check (``based_on`` must name the current version unless ``force``).
    Raises ``RoutingConfigVersion.DoesNotExist`` for an unknown number.
    """
    version = RoutingConfigVersion.objects.only("document").get(number=number)
    document = {k: v for k, v in version.document.items() if k != "based_on_version"}
    return routing_config_apply(
        document=document,
        actor=actor,
        source=RoutingConfigVersion.Source.RESTORE,
        note=f"Restored version {number}",
        based_on=based_on,
        force=force,
    )


#: where :func:`rule_move` can move a rule
RULE_MOVES = ("top", "up", "down", "bottom")


def rule_order_after_move(ids: list[int], *, rule_id: int, to: str) -> list[int]:
    """The rule ids in order after moving ``rule_id`` ``to`` top, up (one place), down or bottom."""
    if to not in RULE_MOVES:
        raise ValidationError({"to": [f"must be one of {', '.join(RULE_MOVES)}"]})
    if rule_id not in ids:
        raise ValidationError({"rule": [f"unknown rule id {rule_id}"]})
    order = [i for i in ids if i != rule_id]
    index = ids.index(rule_id)
    at = {
        "top": 0,
        "up": max(index - 1, 0),
        "down": min(index + 1, len(order)),
        "bottom": len(order),
    }
    order.insert(at[to], rule_id)
    return order


def rule_move(*, rule_id: int, to: str, actor: Any) -> RoutingConfigVersion | None:
    """Move one rule to the top, one place up or down, or to the bottom: one "reorder" version.

    Decided under the configuration lock against the order as it is then; None (and no version)
    when the rule is already there.
    """
    with transaction.atomic():
        config_version_check(based_on=None)
        ids = list(RoutingRule.objects.order_by("position", "id").values_list("id", flat=True))
        order = rule_order_after_move(ids, rule_id=rule_id, to=to)
        if order == ids:
            return None
        return rule_reorder(order=order, actor=actor)
