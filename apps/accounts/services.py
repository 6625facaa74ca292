"""Account changes: each goes through the configuration document and records a version."""

from __future__ import annotations

from typing import Any

from apps.routing.config import routing_config_item_delete, routing_config_item_put
from apps.routing.models import RoutingConfigVersion

__all__ = ["account_delete", "account_save"]


def account_save(*, domain: str | None, item: dict[str, Any], actor: Any) -> RoutingConfigVersion:
    """Create (``domain`` None) or replace an account."""
    return routing_config_item_put(collection="accounts", key=domain, item=item, actor=actor)


def account_delete(*, domain: str, actor: Any) -> RoutingConfigVersion:
    return routing_config_item_delete(collection="accounts", key=domain, actor=actor)
