"""The `imports` queue: lead imports uploaded in the admin run here, off the web process."""

from __future__ import annotations

from celery import shared_task

from apps.routing.import_runs import import_run_stored


@shared_task(acks_late=True)
def import_leads_run(run_id: int) -> dict[str, int] | None:
    """Import the upload of run `run_id`. Safe to run twice: a finished run is a no-op, and a
    redelivered one (its worker died) imports no row twice, its rows' keys being taken."""
    run = import_run_stored(run_id=run_id)
    if run is None:
        return None
    return {"imported": run.imported, "duplicates": run.duplicates, "rejected": run.rejected}
