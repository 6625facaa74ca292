"""Health checks other apps register for /healthz (core imports no app: they come to it)."""

from __future__ import annotations

import logging
from collections.abc import Callable

logger = logging.getLogger(__name__)

__all__ = ["HealthCheck", "health_check_register", "health_problems"]

#: A check returns readable reasons why the service is degraded; none when all is well.
HealthCheck = Callable[[], list[str]]

_checks: dict[str, HealthCheck] = {}


def health_check_register(name: str, check: HealthCheck) -> None:
    """Add (or replace) the check called `name`; apps call this from `AppConfig.ready`."""
    _checks[name] = check


def health_problems() -> list[str]:
    """Every registered check's reasons, in registration order; a check that fails says so."""
    reasons: list[str] = []
    for name, check in _checks.items():
        try:
            reasons.extend(check())
        except Exception as exc:  # a broken check is itself a reason, never a 500
            logger.exception("Health check %s failed", name)
            reasons.append(f"{name}: the check itself failed ({exc.__class__.__name__})")
    return reasons
