"""Configuration versions: every applied configuration document, immutable and numbered."""

from __future__ import annotations

from typing import Any, NoReturn

from django.conf import settings
from django.db import models
from django.utils import timezone

from apps.core.models import AppendOnlyQuerySet, ImmutableRecordError

__all__ = ["ImmutableRecordError", "RoutingConfigVersion"]


class RoutingConfigVersion(models.Model):
    """An immutable snapshot of the whole routing configuration document."""

    class Source(models.TextChoices):
        API = "api", "API"
        ADMIN = "admin", "Admin"
        IMPORT = "import", "Import"
        REORDER = "reorder", "Reorder"
        RESTORE = "restore", "Restore of an earlier version"
        SEED = "seed", "Demo seed"
        SYSTEM = "system", "System"

    number = models.PositiveIntegerField(unique=True)
    document = models.JSONField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="routing_config_versions",
    )
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.SYSTEM)
    summary = models.CharField(max_length=500, blank=True)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-number"]
        get_latest_by = "number"

    def __str__(self) -> str:
        return f"v{self.number} ({self.created_at:%Y-%m-%d %H:%M})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not self._state.adding:
            raise ImmutableRecordError("Configuration versions cannot be edited.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise ImmutableRecordError("Configuration versions cannot be deleted.")
