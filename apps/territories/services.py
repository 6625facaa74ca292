"""Territory changes: each goes through the configuration document and records a version."""

from __future__ import annotations

from typing import Any

from apps.routing.config import routing_config_item_delete, routing_config_item_put
from apps.routing.models import RoutingConfigVersion

__all__ = ["territory_delete", "territory_save"]


def territory_save(*, code: str | None, item: dict[str, Any], actor: Any) -> RoutingConfigVersion:
    """Create (``code`` None) or replace a territory; the whole configuration is re-validated."""
    return routing_config_item_put(collection="territories", key=code, item=item, actor=actor)


def territory_delete(*, code: str, actor: Any) -> RoutingConfigVersion:
    """Delete a territory; refused while reps, rules or child territories refer to it."""
    return routing_config_item_delete(collection="territories", key=code, actor=actor)
