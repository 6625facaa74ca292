from __future__ import annotations

from typing import Any

from apps.accounts.models import Account
from apps.configuration.export import account_item
from apps.configuration.items import AccountItemSerializer

__all__ = ["AccountSerializer"]


class AccountSerializer(AccountItemSerializer):
    """A named account, in the configuration document's shape."""

    def to_representation(self, instance: Any) -> dict[str, Any]:
        if isinstance(instance, Account):
            return account_item(instance)
        return super().to_representation(instance)
