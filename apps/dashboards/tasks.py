"""The dashboards' periodic work: folding the response-time changes into their counts."""

from __future__ import annotations

from celery import shared_task

from apps.dashboards.tally import tally_fold


@shared_task(acks_late=True)
def response_counts_fold() -> int:
    """Beat, every minute: fold the appended response-time changes into the counts (counting
    every lead again after TIME_ZONE changed). Readers are exact without it; it keeps what
    they add up small."""
    return tally_fold()
