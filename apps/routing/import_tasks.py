"""The `imports` queue: lead imports uploaded in the admin run here, off the web process."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.core.broker import broker_publish
from apps.leads.models import LeadImport, LeadImportStatus
from apps.routing.import_columns import target_check
from apps.routing.import_runs import import_files_expire, import_mapping_save, import_run_stored


@shared_task(acks_late=True)
def import_leads_run(run_id: int) -> dict[str, int] | None:
    """Import the upload of run `run_id`. Safe to run twice: a finished run is a no-op, and a
    redelivered one (its worker died) imports no row twice, its rows' keys being taken."""
    run = import_run_stored(run_id=run_id)
    if run is None:
        return None
    return {"imported": run.imported, "duplicates": run.duplicates, "rejected": run.rejected}


@shared_task(acks_late=True)
def import_files_expire_daily() -> int:
    """Beat, daily: remove the files of imports older than LEAD_IMPORT_RETENTION_DAYS."""
    return import_files_expire(
        now=timezone.now(), retention_days=settings.LEAD_IMPORT_RETENTION_DAYS
    )


def import_run_enqueue(run_id: int) -> None:
    """Queue the run once the transaction commits; with the broker down it stays `pending`
    and the page says so (confirming again queues it again)."""
    transaction.on_commit(
        lambda: broker_publish(
            lambda: import_leads_run.apply_async((run_id,), retry=False),
            what=f"import_leads_run({run_id})",
        )
    )


def import_run_confirm(
    *,
    run: LeadImport,
    columns: Mapping[str, str],
    source: str,
    route: bool,
    save_as: str = "",
    user: Any = None,
) -> LeadImport:
    """Confirm an uploaded run's mapping (saving it as `save_as` too) and queue it on the
    `imports` queue once committed. The mapping is checked against the file first."""
    for target in columns.values():
        target_check(target)
    with transaction.atomic():
        run.columns = dict(columns)
        run.source = source
        run.route = route
        run.status = LeadImportStatus.PENDING
        run.save(update_fields=["columns", "source", "route", "status"])
        if save_as:
            import_mapping_save(name=save_as, columns=columns, user=user)
        import_run_enqueue(run.pk)
    return run


__all__ = ["import_leads_run", "import_run_confirm", "import_run_enqueue"]
