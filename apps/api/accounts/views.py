"""Named account CRUD (API.md "Routing configuration"), by domain."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from apps.accounts.filtersets import AccountFilterSet
from apps.accounts.models import Account
from apps.accounts.selectors import account_list
from apps.api.accounts.serializers import AccountSerializer
from apps.api.configuration.views import ConfigItemViewSet
from apps.configuration.export import account_item
from apps.configuration.services import account_delete, account_save


class AccountViewSet(ConfigItemViewSet):
    """Named accounts; anyone signed in reads, managers write."""

    collection = "accounts"
    key_field = "domain"
    lookup_field = "domain"
    serializer_class = AccountSerializer
    item_serializer_class = AccountSerializer
    filterset_class = AccountFilterSet

    def get_queryset(self) -> QuerySet[Account]:
        return account_list()

    def item_of(self, instance: Account) -> dict[str, Any]:
        return account_item(instance)

    def put_item(self, *, key: str | None, item: dict[str, Any], position: int | None) -> None:
        account_save(domain=key, item=item, actor=self.request.user)

    def delete_item(self, *, key: str) -> None:
        account_delete(domain=key, actor=self.request.user)
