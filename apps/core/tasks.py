"""Housekeeping tasks."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True, ignore_result=True)
def noop(counter_key: str | None = None) -> None:
    """Does nothing (optionally counts itself in Redis): the baseline for Celery round trips."""
    if counter_key:
        from django.conf import settings
        from redis import Redis

        Redis.from_url(settings.REDIS_URL).incr(counter_key)
