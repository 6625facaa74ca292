"""Shared abstract models and the append-only guard of audit records."""

from typing import NoReturn

from django.db import models


class ImmutableRecordError(Exception):
    """Raised on an attempt to edit or delete an audit record."""


class AppendOnlyQuerySet(models.QuerySet):
    """Audit records are never deleted, not even in bulk."""

    def delete(self) -> NoReturn:
        raise ImmutableRecordError(f"{self.model.__name__} records cannot be deleted.")


class BaseModel(models.Model):
    """Every table records when a row was created and last changed."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
