"""A manager's sign-off of a reviewed audit window: read-only once recorded."""

from __future__ import annotations

from typing import Any, NoReturn

from django.conf import settings
from django.db import models
from django.utils import timezone

from apps.core.models import AppendOnlyQuerySet, ImmutableRecordError

__all__ = ["AuditSignOff"]


class AuditSignOffQuerySet(AppendOnlyQuerySet):
    """Sign-offs are never deleted nor changed, not even in bulk."""

    def update(self, **kwargs: Any) -> NoReturn:
        raise ImmutableRecordError("Audit sign-offs cannot be edited.")


class AuditSignOff(models.Model):
    """ "Reviewed by … on … with notes" for the rules of one window (both days included)."""

    start = models.DateField()
    end = models.DateField()
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="audit_sign_offs"
    )
    reviewed_at = models.DateTimeField(default=timezone.now)
    notes = models.TextField(blank=True)
    #: The configuration version current when the review was signed (0 before the first).
    config_version_number = models.PositiveIntegerField(default=0)

    objects = AuditSignOffQuerySet.as_manager()

    class Meta:
        ordering = ["-reviewed_at", "-id"]
        verbose_name = "audit sign-off"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end__gte=models.F("start")), name="audit_signoff_end_after_start"
            )
        ]
        # The audit page shows the sign-offs of the window it reports on.
        indexes = [models.Index(fields=["start", "end"], name="audit_signoff_window_idx")]

    def __str__(self) -> str:
        return f"{self.start} to {self.end} reviewed by {self.reviewed_by} on {self.reviewed_at:%Y-%m-%d}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ImmutableRecordError("Audit sign-offs cannot be edited.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise ImmutableRecordError("Audit sign-offs cannot be deleted.")
