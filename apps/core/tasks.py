"""Housekeeping tasks."""

from __future__ import annotations

from functools import cache
from typing import Any

from celery import shared_task


@cache
def _redis() -> Any:
    from django.conf import settings
    from redis import Redis

    return Redis.from_url(settings.REDIS_URL)


@shared_task(acks_late=True, ignore_result=True)
def noop(counter_key: str | None = None) -> None:
    """Does nothing (optionally counts itself in Redis): the baseline for Celery round trips."""
    if counter_key:
        _redis().incr(counter_key)
