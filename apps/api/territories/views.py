"""Territory CRUD (API.md "Routing configuration"), by code."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from apps.api.configuration.views import ConfigItemViewSet
from apps.api.territories.serializers import TerritorySerializer
from apps.configuration.export import territory_item
from apps.configuration.services import territory_delete, territory_save
from apps.territories.filtersets import TerritoryFilterSet
from apps.territories.models import Territory
from apps.territories.selectors import territory_list


class TerritoryViewSet(ConfigItemViewSet):
    """Territories; anyone signed in reads, managers write."""

    collection = "territories"
    key_field = "code"
    lookup_field = "code"
    serializer_class = TerritorySerializer
    item_serializer_class = TerritorySerializer
    filterset_class = TerritoryFilterSet

    def get_queryset(self) -> QuerySet[Territory]:
        return territory_list()

    def item_of(self, instance: Territory) -> dict[str, Any]:
        return territory_item(instance)

    def put_item(self, *, key: str | None, item: dict[str, Any], position: int | None) -> None:
        territory_save(code=key, item=item, actor=self.request.user)

    def delete_item(self, *, key: str) -> None:
        territory_delete(code=key, actor=self.request.user)
