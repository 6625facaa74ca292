"""Write side of the audit: recording a sign-off (the only thing the audit itself writes;
restoring a version is configuration's write, :func:`routing_config_restore`)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from apps.audit.models import AuditSignOff
from apps.configuration.export import config_version_number
from apps.core.windows import DateWindow

__all__ = ["audit_sign_off"]


def audit_sign_off(*, actor: Any, window: DateWindow, notes: str) -> AuditSignOff:
    """Record that ``actor`` reviewed the rules over ``window``, with the configuration version
    current as they signed. The record is final: it cannot be edited or deleted."""
    with transaction.atomic():
        return AuditSignOff.objects.create(
            start=window.start,
            end=window.end,
            reviewed_by=actor,
            notes=notes.strip(),
            config_version_number=config_version_number(),
        )
