"""Read side of named accounts."""

from __future__ import annotations

from django.db.models import QuerySet

from apps.accounts.models import Account

__all__ = ["account_list"]


def account_list() -> QuerySet[Account]:
    """Every account with its owner's username, by domain (one query)."""
    return Account.objects.select_related("owner__user").order_by("domain")
