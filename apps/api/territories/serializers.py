from __future__ import annotations

from typing import Any

from apps.configuration.export import territory_item
from apps.configuration.items import TerritoryItemSerializer
from apps.territories.models import Territory

__all__ = ["TerritorySerializer"]


class TerritorySerializer(TerritoryItemSerializer):
    """A territory, in the configuration document's shape."""

    def to_representation(self, instance: Any) -> dict[str, Any]:
        if isinstance(instance, Territory):
            return territory_item(instance)
        return super().to_representation(instance)
