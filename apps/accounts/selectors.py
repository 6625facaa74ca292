"""Read side of named accounts."""

from __future__ import annotations

from django.db.models import QuerySet

from apps.accounts.models import Account
from apps.routing.config.export import account_queryset

__all__ = ["account_list"]


def account_list() -> QuerySet[Account]:
    """Every account with its owner's username, by domain (one query)."""
    return account_queryset()
